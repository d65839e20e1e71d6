namespace Builtiful.Simulation.GitHub;

// The public contract of the simulated GitHub (SimulatedGitHub.cs implements it). Chaos, end-to-end tests and the
// embedded host build against these shapes: GitHub's own record of what happened, never Builtiful's.

/// <summary>What kind of account an App installation is on; decides where runners can be registered.</summary>
public enum AccountKind
{
    Organization = 0,
    User = 1,
}

/// <summary>A job's status as GitHub holds it.</summary>
public enum SimulatedJobStatus
{
    /// <summary>Behind an environment's protection rule, waiting for a reviewer.</summary>
    Waiting = 0,
    Queued = 1,
    InProgress = 2,
    Completed = 3,
}

/// <summary>Why a job completed.</summary>
public enum CompletionCause
{
    /// <summary>Still open.</summary>
    None = 0,
    /// <summary>A runner ran it to the end.</summary>
    Ran = 1,
    /// <summary>Someone cancelled the run.</summary>
    Cancelled = 2,
    /// <summary>It stayed queued longer than GitHub keeps a job queued (24 hours) and GitHub cancelled it.</summary>
    Expired = 3,
    /// <summary>Its runner disappeared (the VM died under it); GitHub fails the job.</summary>
    RunnerLost = 4,
}

/// <summary>A job to put in GitHub's queue, as a workflow run would.</summary>
public sealed record JobSpec
{
    /// <summary><c>owner/name</c> of a repository added with <see cref="SimulatedGitHub.AddRepository"/>.</summary>
    public required string Repository { get; init; }

    public required IReadOnlyList<string> Labels { get; init; }

    /// <summary>An environment with a protection rule: the job is sent as <c>waiting</c> until approved.</summary>
    public string? Environment { get; init; }

    /// <summary>How many <c>waiting</c> deliveries GitHub sends before approval (it sometimes sends two).</summary>
    public int WaitingDeliveries { get; init; } = 1;

    /// <summary>How long the job runs once a runner takes it; null: the world's default.</summary>
    public TimeSpan? RunTime { get; init; }

    /// <summary>The conclusion the job reports when it runs to the end.</summary>
    public string Conclusion { get; init; } = "success";

    /// <summary>A fixed job id; null: the world picks the next one.</summary>
    public long? JobId { get; init; }
}

/// <summary>One job as GitHub recorded it: the judge's view.</summary>
public sealed record JobRecord(
    long Id,
    long InstallationId,
    string Repository,
    IReadOnlyList<string> Labels,
    string? Environment,
    SimulatedJobStatus Status,
    CompletionCause Cause,
    string? Conclusion,
    DateTimeOffset CreatedAt,
    DateTimeOffset? QueuedAt,
    DateTimeOffset? StartedAt,
    DateTimeOffset? CompletedAt,
    string? RunnerName,
    bool Approved);

/// <summary>Where a runner is registered: an organisation (in a runner group) or one repository.</summary>
public sealed record RunnerRecord(
    long Id,
    long InstallationId,
    string Name,
    IReadOnlyList<string> Labels,
    string? Repository,
    long? RunnerGroupId,
    DateTimeOffset RegisteredAt,
    DateTimeOffset? OnlineAt,
    long? JobId,
    DateTimeOffset? RemovedAt)
{
    /// <summary>When the runner went offline (its VM was lost); GitHub keeps the registration until it is deleted.</summary>
    public DateTimeOffset? OfflineAt { get; init; }
}

/// <summary>One attempt to deliver one webhook, as GitHub's delivery log shows it.</summary>
public sealed record DeliveryRecord(
    long Id,
    string DeliveryGuid,
    string Event,
    string? Action,
    long InstallationId,
    long? JobId,
    int StatusCode,
    DateTimeOffset DeliveredAt,
    bool Redelivery);

/// <summary>A job handed to a runner.</summary>
public sealed record RunnerJob(long JobId, string Repository, IReadOnlyList<string> Labels, TimeSpan RunTime, string Conclusion);
