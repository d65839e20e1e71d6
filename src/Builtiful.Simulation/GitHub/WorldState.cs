namespace Builtiful.Simulation.GitHub;

// The world's mutable state, touched only under SimulatedGitHub's lock; the public records are snapshots of it.

internal sealed class WorldInstallation(long id, string login, AccountKind kind)
{
    public long Id { get; } = id;

    public string Login { get; } = login;

    public AccountKind Kind { get; } = kind;

    public Dictionary<long, WorldRunnerGroup> Groups { get; } = [];
}

internal sealed record WorldRunnerGroup(long Id, string Name, IReadOnlyList<string>? Repositories, bool AllowsPublicRepositories)
{
    public bool Admits(WorldRepository repository) =>
        (!repository.IsPublic || AllowsPublicRepositories)
        && (Repositories is null || Repositories.Contains(repository.FullName, StringComparer.OrdinalIgnoreCase));
}

internal sealed class WorldRepository(long id, string fullName, long installationId, bool isPublic)
{
    public long Id { get; } = id;

    public string FullName { get; } = fullName;

    public long InstallationId { get; } = installationId;

    public bool IsPublic { get; } = isPublic;

    public string Owner => FullName[..FullName.IndexOf('/', StringComparison.Ordinal)];

    public string Name => FullName[(FullName.IndexOf('/', StringComparison.Ordinal) + 1)..];
}

internal sealed class WorldJob
{
    public required long Id { get; init; }

    public required long RunId { get; init; }

    public required WorldRepository Repository { get; init; }

    public required IReadOnlyList<string> Labels { get; init; }

    public string? Environment { get; init; }

    public required TimeSpan RunTime { get; init; }

    public required string ConclusionWhenRun { get; init; }

    public required DateTimeOffset CreatedAt { get; init; }

    public SimulatedJobStatus Status { get; set; }

    public CompletionCause Cause { get; set; }

    public string? Conclusion { get; set; }

    public DateTimeOffset? QueuedAt { get; set; }

    public DateTimeOffset? StartedAt { get; set; }

    public DateTimeOffset? CompletedAt { get; set; }

    public WorldRunner? Runner { get; set; }

    public bool Approved { get; set; }

    /// <summary>An <c>in_progress</c> the reorder fault holds back until <c>completed</c> has gone out.</summary>
    public PendingDelivery? HeldInProgress { get; set; }

    public JobRecord ToRecord() => new(
        Id, Repository.InstallationId, Repository.FullName, Labels, Environment, Status, Cause, Conclusion,
        CreatedAt, QueuedAt, StartedAt, CompletedAt, Runner?.Name, Approved);
}

internal sealed class WorldRunner
{
    public required long Id { get; init; }

    public required long InstallationId { get; init; }

    public required string Name { get; init; }

    public required IReadOnlyList<string> Labels { get; init; }

    /// <summary>Set for a repository runner; null for an organisation runner.</summary>
    public string? Repository { get; init; }

    /// <summary>Set for an organisation runner.</summary>
    public long? GroupId { get; init; }

    public required DateTimeOffset RegisteredAt { get; init; }

    public DateTimeOffset? OnlineAt { get; set; }

    public DateTimeOffset? OfflineAt { get; set; }

    public WorldJob? Job { get; set; }

    public DateTimeOffset? RemovedAt { get; set; }

    public RunnerSession? Session { get; set; }

    public bool Online => OnlineAt is not null && OfflineAt is null && RemovedAt is null;

    public bool Busy => Job is { Status: SimulatedJobStatus.InProgress } && Online;

    public RunnerRecord ToRecord() => new(Id, InstallationId, Name, Labels, Repository, GroupId, RegisteredAt, OnlineAt, Job?.Id, RemovedAt)
    {
        OfflineAt = OfflineAt,
    };
}

/// <summary>One delivery as built: the exact bytes every attempt (and every redelivery) sends.</summary>
internal sealed record PendingDelivery(
    string Guid,
    string Event,
    string? Action,
    long InstallationId,
    long? JobId,
    long? RepositoryId,
    byte[] Body);
