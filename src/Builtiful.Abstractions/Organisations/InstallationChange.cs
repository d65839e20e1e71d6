namespace Builtiful.Organisations;

public enum InstallationAction
{
    Created = 0,
    Suspended = 1,
    Unsuspended = 2,
    Deleted = 3,
    /// <summary><c>new_permissions_accepted</c> and other changes that only refresh the profile.</summary>
    Updated = 4,
}

/// <summary>An <c>installation</c> delivery, reduced to the basic profile Builtiful keeps.</summary>
[GenerateSerializer, Immutable, Alias("builtiful.installation-change")]
public sealed record InstallationChange
{
    [Id(0)] public required InstallationAction Action { get; init; }
    [Id(1)] public string? AccountLogin { get; init; }
    /// <summary><c>Organization</c> or <c>User</c>: decides which GitHub endpoints mint runners.</summary>
    [Id(2)] public string? AccountType { get; init; }
    /// <summary>The GitHub user who made the change (the profile's username).</summary>
    [Id(3)] public string? SenderLogin { get; init; }
    [Id(4)] public string? Email { get; init; }
    [Id(5)] public int? RepositoryCount { get; init; }
    [Id(6)] public string? RepositorySelection { get; init; }
}

/// <summary>An <c>installation_repositories</c> delivery: only counts are kept, never repository names.</summary>
[GenerateSerializer, Immutable, Alias("builtiful.repositories-change")]
public sealed record RepositoriesChange
{
    [Id(0)] public int Added { get; init; }
    [Id(1)] public int Removed { get; init; }
    [Id(2)] public string? RepositorySelection { get; init; }
}
