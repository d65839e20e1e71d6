namespace Builtiful.Organisations;

[GenerateSerializer, Immutable, Alias("builtiful.organisation-view")]
public sealed record OrganisationView
{
    [Id(0)] public required long InstallationId { get; init; }
    [Id(1)] public required OrganisationStatus Status { get; init; }
    [Id(2)] public string? Login { get; init; }
    [Id(3)] public string? AccountType { get; init; }
    [Id(4)] public int LiveLeases { get; init; }
    [Id(5)] public int WaitingJobs { get; init; }
    [Id(6)] public required OrganisationLimits Limits { get; init; }
    [Id(7)] public IReadOnlyList<Guid> LeaseIds { get; init; } = [];
    [Id(8)] public IReadOnlyList<long> WaitingJobIds { get; init; } = [];
    [Id(9)] public int? RepositoryCount { get; init; }
    /// <summary>Jobs kept for an installation whose <c>installation.created</c> has not arrived yet.</summary>
    [Id(10)] public IReadOnlyList<long> ParkedJobIds { get; init; } = [];
}

/// <summary>A job GitHub still holds queued for this organisation, oldest first.</summary>
[GenerateSerializer, Immutable, Alias("builtiful.pending-job")]
public sealed record PendingJob(
    [property: Id(0)] long JobId,
    [property: Id(1)] string MachineType,
    [property: Id(2)] IReadOnlyList<string> Labels,
    [property: Id(3)] DateTimeOffset QueuedAt,
    [property: Id(4)] string? Repository = null,
    [property: Id(5)] int Attempts = 1);
