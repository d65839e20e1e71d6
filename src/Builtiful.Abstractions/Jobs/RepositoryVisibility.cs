namespace Builtiful.Jobs;

/// <summary>
/// The visibility of the repository a job belongs to, as the <c>workflow_job</c> delivery states it. Anyone can open a
/// pull request from a fork of a public repository, so a public repository's jobs can run code no member wrote.
/// </summary>
public enum RepositoryVisibility
{
    /// <summary>The delivery said nothing usable: treated like <see cref="Public"/>.</summary>
    Unknown = 0,
    Private = 1,
    /// <summary>Visible to the members of an enterprise only; forks stay inside it, as with private repositories.</summary>
    Internal = 2,
    Public = 3,
}

public static class RepositoryVisibilities
{
    /// <summary>
    /// <c>repository.visibility</c> decides when it is one of GitHub's three values; otherwise <c>repository.private</c>
    /// (older deliveries carry only that); with neither, <see cref="RepositoryVisibility.Unknown"/>.
    /// </summary>
    public static RepositoryVisibility From(string? visibility, bool? isPrivate) => visibility?.ToLowerInvariant() switch
    {
        "public" => RepositoryVisibility.Public,
        "private" => RepositoryVisibility.Private,
        "internal" => RepositoryVisibility.Internal,
        _ => isPrivate switch
        {
            true => RepositoryVisibility.Private,
            false => RepositoryVisibility.Public,
            null => RepositoryVisibility.Unknown,
        },
    };

    /// <summary>Whether the organisation must have opted in to public repositories before the job gets a VM.</summary>
    public static bool NeedsPublicOptIn(this RepositoryVisibility visibility) =>
        visibility is RepositoryVisibility.Public or RepositoryVisibility.Unknown;

    public static string ToWire(this RepositoryVisibility visibility) => visibility switch
    {
        RepositoryVisibility.Private => "private",
        RepositoryVisibility.Internal => "internal",
        RepositoryVisibility.Public => "public",
        _ => "unknown",
    };
}
