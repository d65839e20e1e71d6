namespace Builtiful.Leases;

/// <summary>Runner names carry the lease id, so an <c>in_progress</c> delivery names the VM it started on.</summary>
public static class RunnerNames
{
    private const string Prefix = "builtiful-";

    public static string ForLease(Guid leaseId) => Prefix + leaseId.ToString("N");

    public static bool TryParseLease(string? runnerName, out Guid leaseId)
    {
        leaseId = default;
        return runnerName is not null
            && runnerName.Length == Prefix.Length + 32
            && runnerName.StartsWith(Prefix, StringComparison.Ordinal)
            && Guid.TryParseExact(runnerName.AsSpan(Prefix.Length), "N", out leaseId);
    }
}
