using Builtiful.Machines;

namespace Builtiful.Leases;

/// <summary>
/// A lease's stored record. The runner's just-in-time config is deliberately absent: it is a credential
/// and lives only for the duration of the launch call.
/// </summary>
[GenerateSerializer, Alias("builtiful.lease-state")]
public sealed record LeaseState
{
    [Id(0)] public bool Known { get; set; }
    [Id(1)] public LeasePhase Phase { get; set; }
    [Id(2)] public long InstallationId { get; set; }
    [Id(3)] public long LaunchedForJobId { get; set; }
    [Id(4)] public long? JobId { get; set; }
    [Id(5)] public MachineType? MachineType { get; set; }
    [Id(6)] public List<string> Labels { get; set; } = [];
    [Id(7)] public string? InstanceId { get; set; }
    [Id(8)] public string RunnerName { get; set; } = "";
    [Id(9)] public DateTimeOffset? RequestedAt { get; set; }
    [Id(10)] public DateTimeOffset? LaunchedAt { get; set; }
    [Id(11)] public DateTimeOffset BootDeadline { get; set; }
    [Id(12)] public DateTimeOffset ExpiresAt { get; set; }
    [Id(13)] public DateTimeOffset? TerminatedAt { get; set; }
    [Id(14)] public string? EndReason { get; set; }
    [Id(15)] public string? LastError { get; set; }
    /// <summary>Attempts started; the attempt number is part of the launch's idempotency token.</summary>
    [Id(16)] public int LaunchAttempts { get; set; }
    /// <summary>True when the current attempt failed for certain, so the next launch starts a new attempt.</summary>
    [Id(17)] public bool AttemptFailed { get; set; }
    [Id(18)] public int TerminationAttempts { get; set; }
    /// <summary>A release that could not deregister the runner yet; retried on each deadline check.</summary>
    [Id(19)] public string? PendingRelease { get; set; }
    [Id(20)] public string? AccountLogin { get; set; }
    [Id(21)] public string? AccountType { get; set; }
    [Id(22)] public string? Repository { get; set; }
    [Id(23)] public long RunnerGroupId { get; set; } = 1;
    /// <summary>Failed because the launch was refused for good, not because transient errors used up the attempts.</summary>
    [Id(24)] public bool Refused { get; set; }
    // [Id(25)] is retired (DrivenByOrganisation, never shipped): never reuse it.
    /// <summary>The lease stops retrying its launch at this instant.</summary>
    [Id(26)] public DateTimeOffset GiveUpAt { get; set; }
    /// <summary>When the next launch attempt is due after a failed one; a new activation resumes at this instant.</summary>
    [Id(27)] public DateTimeOffset? NextLaunchAt { get; set; }
    /// <summary>When the VM claimed its runner config; a lease is claimed once.</summary>
    [Id(28)] public DateTimeOffset? ClaimedAt { get; set; }
    /// <summary>The warm pool VM the lease took instead of launching (its claim token derives from this id).</summary>
    [Id(29)] public Guid? PoolVmId { get; set; }
    [Id(30)] public string? Pool { get; set; }
}
