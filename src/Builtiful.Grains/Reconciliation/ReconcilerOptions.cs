namespace Builtiful.Reconciliation;

/// <summary>Configuration section <c>Reconciler</c>.</summary>
public sealed class ReconcilerOptions
{
    public const string Section = "Reconciler";

    /// <summary>How often the cloud is compared with the leases; a leaked VM lives at most its deadline plus this.</summary>
    [SettingRange(typeof(TimeSpan), "00:00:01", ErrorMessage = "use at least 00:00:01 (one second)")]
    public TimeSpan Period { get; set; } = TimeSpan.FromMinutes(2);

    /// <summary>Instances examined per sweep, so one sweep stays bounded; the rest wait for the next.</summary>
    [SettingRange(1)]
    public int MaxInstancesPerSweep { get; set; } = 1000;
}
