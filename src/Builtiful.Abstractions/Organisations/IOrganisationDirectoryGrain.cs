using Orleans.Concurrency;

namespace Builtiful.Organisations;

/// <summary>
/// The cluster's list of installations, so operators can page through them: each organisation registers itself
/// whenever its status or profile changes. One grain, key <see cref="Key"/>; it never calls back.
/// </summary>
[Alias("builtiful.organisation-directory")]
public interface IOrganisationDirectoryGrain : IGrainWithIntegerKey
{
    public const long Key = 0;

    /// <summary>Adds or refreshes an installation's entry; an unchanged entry writes nothing.</summary>
    [Alias("register")]
    Task Register(DirectoryEntry entry);

    /// <summary>Entries by installation id, optionally only those with <paramref name="status"/>.</summary>
    [ReadOnly, AlwaysInterleave, Alias("list")]
    Task<DirectoryPage> List(OrganisationStatus? status, int offset, int limit);
}

[GenerateSerializer, Immutable, Alias("builtiful.directory-entry")]
public sealed record DirectoryEntry(
    [property: Id(0)] long InstallationId,
    [property: Id(1)] string? Login,
    [property: Id(2)] OrganisationStatus Status,
    [property: Id(3)] bool SuspendedByOperator);

[GenerateSerializer, Immutable, Alias("builtiful.directory-page")]
public sealed record DirectoryPage(
    [property: Id(0)] IReadOnlyList<DirectoryEntry> Items,
    [property: Id(1)] int Total);
