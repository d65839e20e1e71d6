namespace Builtiful.Jobs;

/// <summary>What the admin API shows of a job.</summary>
[GenerateSerializer, Immutable, Alias("builtiful.job-view")]
public sealed record JobView
{
    [Id(0)] public required long Id { get; init; }
    [Id(1)] public required JobStatus Status { get; init; }
    [Id(2)] public string? Conclusion { get; init; }
    [Id(3)] public long InstallationId { get; init; }
    [Id(4)] public string Repository { get; init; } = "";
    [Id(5)] public string? Branch { get; init; }
    [Id(6)] public string HeadSha { get; init; } = "";
    [Id(7)] public IReadOnlyList<string> Labels { get; init; } = [];
    [Id(8)] public string? MachineType { get; init; }
    [Id(9)] public DateTimeOffset? QueuedAt { get; init; }
    [Id(10)] public DateTimeOffset? StartedAt { get; init; }
    [Id(11)] public DateTimeOffset? CompletedAt { get; init; }
    [Id(12)] public Guid? LeaseId { get; init; }
    [Id(13)] public string? RejectionReason { get; init; }
    [Id(14)] public long RunId { get; init; }
    [Id(15)] public long RunAttempt { get; init; }
    [Id(16)] public string? WorkflowName { get; init; }
    [Id(17)] public string? JobName { get; init; }
    /// <summary>Set with <see cref="RejectionReason"/>: the bounded code of why the job launched nothing.</summary>
    [Id(18)] public RejectionCode? RejectionCode { get; init; }
    [Id(19)] public RepositoryVisibility Visibility { get; init; }
    /// <summary>An environment's protection rule holds the job (<c>waiting</c>): no VM until a reviewer approves it.</summary>
    [Id(20)] public bool AwaitingApproval { get; init; }
    /// <summary>While queued: why the job still has no VM (e.g. its launch met a capacity shortage) and when the next try is.</summary>
    [Id(21)] public string? WaitingReason { get; init; }
}
