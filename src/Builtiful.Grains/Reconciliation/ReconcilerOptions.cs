namespace Builtiful.Reconciliation;

/// <summary>Configuration section <c>Reconciler</c>.</summary>
public sealed class ReconcilerOptions
{
    public const string Section = "Reconciler";

    /// <summary>How often the cloud is compared with the leases; a leaked VM lives at most its deadline plus this.</summary>
    public TimeSpan Period { get; set; } = TimeSpan.FromMinutes(2);

    /// <summary>Instances examined per sweep, so one sweep stays bounded; the rest wait for the next.</summary>
    public int MaxInstancesPerSweep { get; set; } = 1000;
}
