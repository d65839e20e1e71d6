namespace Builtiful.Reconciliation;

/// <summary>Configuration section <c>Reconciler</c>.</summary>
public sealed class ReconcilerOptions
{
    public const string Section = "Reconciler";

    /// <summary>How often the cloud is compared with the leases; a leaked VM lives at most its deadline plus this.</summary>
    [SettingRange(typeof(TimeSpan), "00:00:01", ErrorMessage = "use at least 00:00:01 (one second)")]
    public TimeSpan Period { get; set; } = TimeSpan.FromMinutes(2);

    /// <summary>Instances examined per sweep, so one sweep stays bounded; a rotating cursor takes the rest next time.</summary>
    [SettingRange(1)]
    public int MaxInstancesPerSweep { get; set; } = 1000;

    /// <summary>The least time between the sweep that marks an instance suspect and the one that may terminate it.</summary>
    [SettingRange(typeof(TimeSpan), "00:00:00")]
    public TimeSpan ConfirmationGap { get; set; } = TimeSpan.FromMinutes(1);

    /// <summary>Organisations whose slots are checked at once, in batches, so a sweep never waits on them one by one.</summary>
    [SettingRange(1)]
    public int OrganisationParallelism { get; set; } = 8;

    /// <summary>How long a sweep waits for one organisation's check; a slow one is left to the next sweep.</summary>
    [SettingRange(typeof(TimeSpan), "00:00:00", MinimumIsExclusive = true)]
    public TimeSpan OrganisationTimeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>Bounds one lease's answer, so a stuck lease costs one check, not the sweep.</summary>
    [SettingRange(typeof(TimeSpan), "00:00:00", MinimumIsExclusive = true)]
    public TimeSpan LeaseCheckTimeout { get; set; } = TimeSpan.FromSeconds(10);
}
