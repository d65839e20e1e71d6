using Microsoft.Extensions.Configuration;

namespace Builtiful.Hosting;

/// <summary>
/// The secrets every replica of a PostgreSQL cluster must share: the webhook secret GitHub signs deliveries with and
/// the operators' admin tokens. A generated one would differ per process and land in a container log, so on PostgreSQL
/// none is generated; only the embedded default, whose state dies with its process, makes its own.
/// </summary>
public static class RequiredSecrets
{
    public const string WebhookSecretKey = "GitHub:WebhookSecret";
    public const string AdminTokenKey = "Admin:Token";
    public const string AdminTokensKey = "Admin:Tokens";

    /// <summary>The key claim tokens derive from (silo side): every silo must derive the same token for a lease.</summary>
    public const string ClaimKeyKey = "Claims:Key";

    /// <summary>The gateway's claim endpoint as VMs reach it (silo side: it goes into each VM's launch).</summary>
    public const string ClaimUrlKey = "Claims:Url";

    public static bool HasClaimKey(IConfiguration configuration) =>
        !string.IsNullOrEmpty(configuration?[ClaimKeyKey]);

    public static bool HasWebhookSecret(IConfiguration configuration) =>
        !string.IsNullOrEmpty(configuration?[WebhookSecretKey]);

    public static bool HasAdminToken(IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        return !string.IsNullOrEmpty(configuration[AdminTokenKey]) || configuration.GetSection(AdminTokensKey).GetChildren().Any();
    }

    /// <summary>One message per missing secret, naming its key; empty without <c>ConnectionStrings:Builtiful</c>.</summary>
    public static IReadOnlyList<string> Problems(IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        if (PostgresDatabase.ConnectionString(configuration) is null)
        {
            return [];
        }

        var problems = new List<string>();
        if (!HasWebhookSecret(configuration))
        {
            problems.Add($"{WebhookSecretKey} is not set: with PostgreSQL every replica verifies GitHub's deliveries with the secret set in the GitHub App, so none is generated (GitHub__WebhookSecret in the environment).");
        }

        if (!HasAdminToken(configuration))
        {
            problems.Add($"{AdminTokensKey} (or {AdminTokenKey}) is not set: with PostgreSQL operators need tokens every replica knows, so none is generated (Admin__Tokens__0__Name, __Sha256 and __Role, or Admin__Token, in the environment).");
        }

        return problems;
    }

    /// <summary>
    /// The silo's shared secret: on PostgreSQL every silo derives and checks the same claim tokens, so <c>Claims:Key</c>
    /// is never generated; empty without <c>ConnectionStrings:Builtiful</c>.
    /// </summary>
    public static IReadOnlyList<string> SiloProblems(IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        if (PostgresDatabase.ConnectionString(configuration) is null || HasClaimKey(configuration))
        {
            return [];
        }

        return [$"{ClaimKeyKey} is not set: with PostgreSQL every silo derives the same claim tokens for the runner configs VMs claim after boot, so none is generated (Claims__Key in the environment: 32 random bytes, base64)."];
    }

    /// <summary>For a process whose state dies with it: a claim key for this process only, unless one is configured. Returns whether it made one.</summary>
    public static bool GenerateClaimKey(IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        if (HasClaimKey(configuration))
        {
            return false;
        }

        configuration[ClaimKeyKey] = Convert.ToBase64String(System.Security.Cryptography.RandomNumberGenerator.GetBytes(32));
        return true;
    }
}
