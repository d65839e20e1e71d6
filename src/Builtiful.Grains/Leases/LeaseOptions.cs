namespace Builtiful.Leases;

/// <summary>Configuration section <c>Leases</c>: the deadlines every VM lives under.</summary>
public sealed class LeaseOptions
{
    public const string Section = "Leases";

    /// <summary>A VM whose runner has taken no job by then is destroyed.</summary>
    public TimeSpan BootDeadline { get; set; } = TimeSpan.FromMinutes(10);

    /// <summary>The hard cap on a VM's life, whatever happens.</summary>
    public TimeSpan MaxLifetime { get; set; } = TimeSpan.FromHours(6);

    /// <summary>How often the organisation's reminder checks its leases' deadlines and retries unfinished work.</summary>
    public TimeSpan CheckPeriod { get; set; } = TimeSpan.FromMinutes(1);

    /// <summary>How often a terminating lease asks whether its VM is gone, between reminder ticks.</summary>
    public TimeSpan TerminationPollInterval { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>Launch attempts before the lease fails; each uses a new idempotency token.</summary>
    public int LaunchAttempts { get; set; } = 3;

    /// <summary>First pause between launch attempts; it doubles with each attempt.</summary>
    public TimeSpan LaunchRetryDelay { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>Upper bound for one provider or GitHub call made by a lease.</summary>
    public TimeSpan CallTimeout { get; set; } = TimeSpan.FromMinutes(2);
}
