namespace Builtiful.Organisations;

[GenerateSerializer, Alias("builtiful.organisation-directory-state")]
public sealed record OrganisationDirectoryState
{
    /// <summary>By installation id; pages are ordered by it, so they stay stable while installations come and go.</summary>
    [Id(0)] public Dictionary<long, DirectoryEntry> Entries { get; set; } = [];
}
