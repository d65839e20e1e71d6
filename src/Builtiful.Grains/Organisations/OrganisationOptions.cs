namespace Builtiful.Organisations;

/// <summary>Configuration section <c>Organisations</c>: limits every installation starts with.</summary>
public sealed class OrganisationOptions
{
    public const string Section = "Organisations";

    public int MaxConcurrentVms { get; set; } = 20;

    public List<string> AllowedMachineTypes { get; set; } = [];

    public TimeSpan MaxJobLifetime { get; set; } = TimeSpan.FromHours(6);

    public long RunnerGroupId { get; set; } = 1;

    /// <summary>VMs started for one queued job whose runners never took it, before the job is marked failed to provision.</summary>
    public int ProvisionAttempts { get; set; } = 3;

    /// <summary>Deadline checks of one organisation's leases in flight at once on each reminder tick.</summary>
    public int LeaseChecksInFlight { get; set; } = 16;

    public OrganisationLimits ToLimits() => new()
    {
        MaxConcurrentVms = MaxConcurrentVms,
        AllowedMachineTypes = [.. AllowedMachineTypes],
        MaxJobLifetime = MaxJobLifetime,
        RunnerGroupId = RunnerGroupId,
    };
}
