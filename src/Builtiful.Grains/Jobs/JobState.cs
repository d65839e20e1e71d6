using Builtiful.Jobs;

namespace Builtiful.Jobs;

/// <summary>A job's stored record: metadata and timing only, as the security page promises.</summary>
[GenerateSerializer, Alias("builtiful.job-state")]
public sealed record JobState
{
    [Id(0)] public bool Known { get; set; }
    [Id(1)] public JobStatus Status { get; set; }
    [Id(2)] public long InstallationId { get; set; }
    [Id(3)] public long RunId { get; set; }
    [Id(4)] public long RunAttempt { get; set; }
    [Id(5)] public string Repository { get; set; } = "";
    [Id(6)] public string? Branch { get; set; }
    [Id(7)] public string HeadSha { get; set; } = "";
    [Id(8)] public string? WorkflowName { get; set; }
    [Id(9)] public string? JobName { get; set; }
    [Id(10)] public List<string> Labels { get; set; } = [];
    [Id(11)] public string? MachineType { get; set; }
    [Id(12)] public string? Conclusion { get; set; }
    [Id(13)] public DateTimeOffset? QueuedAt { get; set; }
    [Id(14)] public DateTimeOffset? StartedAt { get; set; }
    [Id(15)] public DateTimeOffset? CompletedAt { get; set; }
    [Id(16)] public Guid? LeaseId { get; set; }
    [Id(17)] public string? RejectionReason { get; set; }
    /// <summary>True once the organisation has been asked for a VM, so a redelivery never asks twice.</summary>
    [Id(18)] public bool RunnerRequested { get; set; }
    [Id(19)] public RejectionCode? RejectionCode { get; set; }
    [Id(20)] public RepositoryVisibility Visibility { get; set; }
    /// <summary>When Builtiful first saw the job (its own clock, not the payload's): retention counts from here.</summary>
    [Id(21)] public DateTimeOffset? RecordedAt { get; set; }
    /// <summary>When a <c>queued</c> followed <c>waiting</c> (its own clock): an approved job's 24 hours in line count from here.</summary>
    [Id(22)] public DateTimeOffset? ApprovedAt { get; set; }
    /// <summary>Why the job still has no VM, as its lease last reported (no secrets: a provider's error code and message).</summary>
    [Id(23)] public string? WaitingReason { get; set; }
}
