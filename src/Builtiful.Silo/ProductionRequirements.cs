using Builtiful.Compute.Ec2.Options;
using Builtiful.Hosting;

namespace Builtiful.Silo;

/// <summary>
/// What the production silo needs before it starts: EC2, a real GitHub App and PostgreSQL. Each missing piece is one
/// message naming its key, so an operator fixes them all in one go; the embedded host is the place for simulations.
/// </summary>
public static class ProductionRequirements
{
    public static IReadOnlyList<string> Problems(IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        var problems = new List<string>();
        if (!string.Equals(configuration[ProviderNames.ComputeKey], ProviderNames.Ec2, StringComparison.Ordinal))
        {
            problems.Add($"{ProviderNames.ComputeKey} is {Shown(configuration[ProviderNames.ComputeKey])}; the production silo launches VMs on EC2: set it to '{ProviderNames.Ec2}' (and the Compute:Ec2 section).");
        }
        else
        {
            problems.AddRange(Ec2ClusterProblems(configuration));
        }

        if (!string.Equals(configuration[ProviderNames.GitHubModeKey], ProviderNames.GitHubApp, StringComparison.Ordinal))
        {
            problems.Add($"{ProviderNames.GitHubModeKey} is {Shown(configuration[ProviderNames.GitHubModeKey])}; the production silo mints runner configs through a real GitHub App: set it to '{ProviderNames.GitHubApp}' with GitHub:AppId and GitHub:PrivateKeyPath (or GitHub:PrivateKey).");
        }
        else if (string.IsNullOrWhiteSpace(configuration["GitHub:AppId"]))
        {
            problems.Add("GitHub:AppId is not set: the GitHub App's id (or client id) is required.");
        }
        else if (string.IsNullOrWhiteSpace(configuration["GitHub:PrivateKeyPath"]) && string.IsNullOrWhiteSpace(configuration["GitHub:PrivateKey"]))
        {
            problems.Add("GitHub:PrivateKeyPath (or GitHub:PrivateKey) is not set: the GitHub App's private key is required.");
        }

        if (PostgresDatabase.ConnectionString(configuration) is null)
        {
            problems.Add($"{PostgresDatabase.ConnectionStringKey} is not set: the production silo keeps state, reminders and membership in PostgreSQL (ConnectionStrings__Builtiful in the environment).");
        }

        problems.AddRange(SharedSecretProblems(configuration));
        problems.AddRange(ClaimProblems(configuration));
        problems.AddRange(ClusterTlsProblems(configuration));
        return problems;
    }

    /// <summary>
    /// VMs claim their runner configs after boot: the silo derives their claim tokens from <c>Claims:Key</c> (shared by
    /// every silo, from the secret store) and tells each VM where to claim (<c>Claims:Url</c>, the public gateway over TLS).
    /// </summary>
    public static IReadOnlyList<string> ClaimProblems(IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        var problems = new List<string>();
        var key = configuration[RequiredSecrets.ClaimKeyKey];
        if (string.IsNullOrEmpty(key))
        {
            problems.Add($"{RequiredSecrets.ClaimKeyKey} is not set: every silo derives the claim tokens VMs claim their runner configs with from this key, so none is generated (Claims__Key in the environment: 32 random bytes, base64, the same on every silo).");
        }
        else if (!IsLongBase64(key))
        {
            problems.Add($"{RequiredSecrets.ClaimKeyKey} is not base64 of at least 32 bytes (Claims__Key in the environment).");
        }

        var url = configuration[RequiredSecrets.ClaimUrlKey];
        if (string.IsNullOrEmpty(url))
        {
            problems.Add($"{RequiredSecrets.ClaimUrlKey} is not set: VMs claim their runner configs after boot at the gateway's claim endpoint, e.g. https://builtiful.example.com/api/runners/claim (Claims__Url in the environment).");
        }
        else if (!Uri.TryCreate(url, UriKind.Absolute, out var parsed) || parsed.Scheme != Uri.UriSchemeHttps)
        {
            problems.Add($"{RequiredSecrets.ClaimUrlKey} is '{url}': it must be an absolute https URL, since the claim's answer is a runner credential.");
        }

        return problems;
    }

    private static bool IsLongBase64(string text)
    {
        var bytes = new byte[text.Length];
        return Convert.TryFromBase64String(text, bytes, out var written) && written >= 32;
    }

    /// <summary>On PostgreSQL every replica shares the webhook secret and admin tokens, so none is generated.</summary>
    public static IReadOnlyList<string> SharedSecretProblems(IConfiguration configuration) => RequiredSecrets.Problems(configuration);

    /// <summary>Silo-to-silo and gateway-to-silo traffic crosses the network: TLS unless Orleans:Tls:Disabled says otherwise.</summary>
    public static IReadOnlyList<string> ClusterTlsProblems(IConfiguration configuration) => ClusterTls.Problems(configuration);

    /// <summary>Its own cluster name; durable state is required below (PostgreSQL), so the trial override has no say here.</summary>
    private static IReadOnlyList<string> Ec2ClusterProblems(IConfiguration configuration) =>
        Ec2HostRequirements.Problems(configuration, durableState: true);

    private static string Shown(string? value) => string.IsNullOrEmpty(value) ? "not set" : $"'{value}'";
}
