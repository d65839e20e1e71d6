namespace Builtiful.Leases;

/// <summary>What the admin API shows of a lease.</summary>
[GenerateSerializer, Immutable, Alias("builtiful.lease-view")]
public sealed record LeaseView
{
    [Id(0)] public required Guid Id { get; init; }
    [Id(1)] public required LeasePhase Phase { get; init; }
    [Id(2)] public string? InstanceId { get; init; }
    [Id(3)] public string? RunnerName { get; init; }
    [Id(4)] public string? MachineType { get; init; }
    [Id(5)] public long LaunchedForJobId { get; init; }
    [Id(6)] public long? JobId { get; init; }
    [Id(7)] public DateTimeOffset? LaunchedAt { get; init; }
    [Id(8)] public DateTimeOffset? TerminatedAt { get; init; }
    [Id(9)] public long InstallationId { get; init; }
    [Id(10)] public DateTimeOffset? RequestedAt { get; init; }
    [Id(11)] public DateTimeOffset? BootDeadline { get; init; }
    [Id(12)] public DateTimeOffset? ExpiresAt { get; init; }
    [Id(13)] public string? EndReason { get; init; }
    [Id(14)] public string? LastError { get; init; }
    [Id(15)] public int LaunchAttempts { get; init; }
    [Id(16)] public int TerminationAttempts { get; init; }
    /// <summary>The launch was refused for good (not merely failed for a while): another VM would be refused too.</summary>
    [Id(17)] public bool Refused { get; init; }
    /// <summary>The warm pool the lease took its VM from, if it did.</summary>
    [Id(18)] public string? Pool { get; init; }
    /// <summary>
    /// The VM the lease's stored record names, which outlives its activation; <see cref="InstanceId"/> may name one decided
    /// but not yet stored (or never stored, if the write was refused). A warm pool hands a VM over to a lease on this one.
    /// </summary>
    [Id(19)] public string? StoredInstanceId { get; init; }
}
