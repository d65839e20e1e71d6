namespace Builtiful.Jobs;

/// <summary>
/// The part of a <c>workflow_job</c> delivery that Builtiful keeps: job metadata and timing only.
/// Everything else in the payload (steps, URLs, the sender) is dropped at the gateway.
/// </summary>
[GenerateSerializer, Immutable, Alias("builtiful.workflow-job-event")]
public sealed record WorkflowJobEvent
{
    [Id(0)] public required long JobId { get; init; }
    [Id(1)] public required JobStatus Action { get; init; }
    /// <summary>0 when the delivery names no installation (GitHub omits it on some redeliveries).</summary>
    [Id(2)] public long InstallationId { get; init; }
    [Id(3)] public long RunId { get; init; }
    [Id(4)] public long RunAttempt { get; init; }
    [Id(5)] public string Repository { get; init; } = "";
    [Id(6)] public string? Branch { get; init; }
    [Id(7)] public string HeadSha { get; init; } = "";
    [Id(8)] public string? WorkflowName { get; init; }
    [Id(9)] public string? JobName { get; init; }
    [Id(10)] public IReadOnlyList<string> Labels { get; init; } = [];
    [Id(11)] public string? RunnerName { get; init; }
    [Id(12)] public string? Conclusion { get; init; }
    [Id(13)] public DateTimeOffset? CreatedAt { get; init; }
    [Id(14)] public DateTimeOffset? StartedAt { get; init; }
    [Id(15)] public DateTimeOffset? CompletedAt { get; init; }
    [Id(16)] public string? DeliveryId { get; init; }
    /// <summary>From <c>repository.visibility</c> and <c>repository.private</c>; decides the public-repository opt-in.</summary>
    [Id(17)] public RepositoryVisibility Visibility { get; init; }
}
