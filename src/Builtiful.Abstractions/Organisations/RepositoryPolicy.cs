namespace Builtiful.Organisations;

/// <summary>
/// Which repositories of an installation may start VMs. Kept by the organisation grain and enforced there when a
/// queued job asks for capacity, so every gateway and every redelivery meets the same rule.
/// </summary>
[GenerateSerializer, Immutable, Alias("builtiful.repository-policy")]
public sealed record RepositoryPolicy
{
    /// <summary><c>owner/name</c>, compared without regard to case. Empty: every repository of the installation.</summary>
    [Id(0)] public IReadOnlyList<string> AllowedRepositories { get; init; } = [];

    /// <summary>
    /// False (the default): jobs of public repositories, and of repositories whose visibility the delivery does not
    /// state, launch nothing, because a pull request from any fork can run its own code on them.
    /// </summary>
    [Id(1)] public bool AllowPublicRepositories { get; init; }

    public bool Allows(string? repository) =>
        AllowedRepositories.Count == 0
        || (repository is not null && AllowedRepositories.Contains(repository, StringComparer.OrdinalIgnoreCase));

    /// <summary>Null when <paramref name="repository"/> is a valid <c>owner/name</c>, otherwise what is wrong with it.</summary>
    public static string? Validate(string? repository)
    {
        if (string.IsNullOrWhiteSpace(repository))
        {
            return "a repository name is empty";
        }

        var parts = repository.Split('/');
        if (parts.Length != 2 || parts.Any(p => p.Length == 0 || p.Length > 100 || p.Any(c => !(char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.'))))
        {
            return $"'{repository}' is not a repository full name of the form owner/name";
        }

        return null;
    }
}
