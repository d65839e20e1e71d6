namespace Builtiful.Organisations;

/// <summary>Configuration section <c>Organisations</c>: limits every installation starts with.</summary>
public sealed class OrganisationOptions
{
    public const string Section = "Organisations";

    [SettingRange(1)]
    public int MaxConcurrentVms { get; set; } = 20;

    public List<string> AllowedMachineTypes { get; set; } = [];

    public TimeSpan MaxJobLifetime { get; set; } = TimeSpan.FromHours(6);

    public long RunnerGroupId { get; set; } = 1;

    /// <summary>
    /// VMs that came up for one queued job but whose runners never took it, before the job is marked failed to provision.
    /// Launch failures do not count: a lease retries its own launch by time (see <c>Leases:LaunchRetryDelay</c>).
    /// </summary>
    public int ProvisionAttempts { get; set; } = 3;

    /// <summary>Deadline checks of one organisation's leases in flight at once on each reminder tick.</summary>
    public int LeaseChecksInFlight { get; set; } = 16;

    /// <summary>Jobs one not-yet-created installation keeps (their <c>queued</c> raced <c>installation.created</c>); more are rejected.</summary>
    public int ParkedJobLimit { get; set; } = 1_000;

    /// <summary>How long a job waits for its installation's <c>installation.created</c> before it is rejected.</summary>
    public TimeSpan ParkedJobMaxAge { get; set; } = TimeSpan.FromMinutes(10);

    /// <summary>GitHub cancels a job queued this long: a job still without a VM by then is dropped from the line.</summary>
    public TimeSpan QueuedJobLifetime { get; set; } = TimeSpan.FromHours(24);

    /// <summary>A release or termination order its lease has not reported back on after this long is sent again (it may have been lost with a silo).</summary>
    public TimeSpan ReleaseResendAfter { get; set; } = TimeSpan.FromMinutes(5);

    public OrganisationLimits ToLimits() => new()
    {
        MaxConcurrentVms = MaxConcurrentVms,
        // An array, not a collection expression: `[..]` into an IReadOnlyList makes a compiler-generated type that the
        // grain-state serializer has no codec for and looks up afresh on every write of the organisation's header.
        AllowedMachineTypes = AllowedMachineTypes.ToArray(),
        MaxJobLifetime = MaxJobLifetime,
        RunnerGroupId = RunnerGroupId,
    };
}
