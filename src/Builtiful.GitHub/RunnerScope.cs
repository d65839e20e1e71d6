using Builtiful.Providers;

namespace Builtiful.GitHub;

/// <summary>Where runners are registered: one repository (see <see cref="For"/>); the organisation scope is for listings.</summary>
public sealed record RunnerScope
{
    private RunnerScope(string path, string description)
    {
        RunnersPath = path;
        Description = description;
    }

    /// <summary>Relative REST path of the scope's runners, e.g. <c>orgs/acme/actions/runners</c>.</summary>
    public string RunnersPath { get; }

    public string Description { get; }

    public bool IsOrganisation => RunnersPath.StartsWith("orgs/", StringComparison.Ordinal);

    public static RunnerScope Organisation(string login)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(login);
        return new RunnerScope($"orgs/{Uri.EscapeDataString(login)}/actions/runners", $"organisation {login}");
    }

    /// <summary>A repository given as <c>owner/name</c>.</summary>
    public static RunnerScope Repository(string repository)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(repository);
        var parts = repository.Split('/');
        if (parts.Length != 2 || parts[0].Length == 0 || parts[1].Length == 0)
        {
            throw new ArgumentException($"Repository '{repository}' is not of the form owner/name.", nameof(repository));
        }

        return new RunnerScope($"repos/{Uri.EscapeDataString(parts[0])}/{Uri.EscapeDataString(parts[1])}/actions/runners", $"repository {repository}");
    }

    /// <summary>
    /// Every runner is registered on the repository of the job it is launched for, for organisation and user installations
    /// alike: GitHub then hands it only jobs of that repository, one Builtiful admitted, never another repository's job that
    /// the organisation's policy refuses (an organisation-level runner in the default group may take any of them).
    /// </summary>
    public static RunnerScope For(RunnerRegistration registration)
    {
        ArgumentNullException.ThrowIfNull(registration);
        if (string.IsNullOrWhiteSpace(registration.Repository))
        {
            throw new ArgumentException(
                $"Runner {registration.RunnerName} of installation {registration.InstallationId} ({registration.AccountType ?? "unknown account type"} " +
                $"{registration.AccountLogin}) names no repository: runners are registered on the repository of their job.", nameof(registration));
        }

        return Repository(registration.Repository);
    }

    public override string ToString() => Description;
}

/// <summary>A self-hosted runner registration as GitHub lists it.</summary>
public sealed record GitHubRunner(long Id, string Name, string? Status, bool Busy, IReadOnlyList<string> Labels);
