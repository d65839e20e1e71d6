namespace Builtiful.Leases;

/// <summary>Configuration section <c>Leases</c>: the deadlines every VM lives under.</summary>
public sealed class LeaseOptions
{
    public const string Section = "Leases";

    /// <summary>A VM whose runner has taken no job by then is destroyed.</summary>
    [SettingRange(typeof(TimeSpan), "00:00:00", MinimumIsExclusive = true)]
    public TimeSpan BootDeadline { get; set; } = TimeSpan.FromMinutes(10);

    /// <summary>The hard cap on a VM's life, whatever happens.</summary>
    public TimeSpan MaxLifetime { get; set; } = TimeSpan.FromHours(6);

    /// <summary>How often the organisation's reminder checks its leases' deadlines and retries unfinished work.</summary>
    [SettingRange(typeof(TimeSpan), "00:00:01", ErrorMessage = "use at least 00:00:01 (one second)")]
    public TimeSpan CheckPeriod { get; set; } = TimeSpan.FromMinutes(1);

    /// <summary>How often a terminating lease asks whether its VM is gone, between reminder ticks.</summary>
    public TimeSpan TerminationPollInterval { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>
    /// Ceiling of the pause before the first retry of a launch that failed for a passing reason (capacity, throttling,
    /// an outage); it doubles with each attempt up to <see cref="LaunchRetryMaxDelay"/>, with full jitter. Each attempt
    /// uses a new idempotency token. Retries go on until the order's give-up instant (GitHub's 24 h for a queued job).
    /// </summary>
    [SettingRange(typeof(TimeSpan), "00:00:00", MinimumIsExclusive = true)]
    public TimeSpan LaunchRetryDelay { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>The longest pause between two launch attempts.</summary>
    [SettingRange(typeof(TimeSpan), "00:00:00", MinimumIsExclusive = true)]
    public TimeSpan LaunchRetryMaxDelay { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>How long a lease whose order names no give-up instant keeps retrying its launch.</summary>
    [SettingRange(typeof(TimeSpan), "00:00:00", MinimumIsExclusive = true)]
    public TimeSpan LaunchGiveUpAfter { get; set; } = TimeSpan.FromHours(24);

    /// <summary>Upper bound for one provider or GitHub call made by a lease.</summary>
    public TimeSpan CallTimeout { get; set; } = TimeSpan.FromMinutes(2);
}
