namespace Builtiful.Gateway;

/// <summary>Configuration section <c>Gateway</c>.</summary>
public sealed class GatewayOptions
{
    public const string Section = "Gateway";

    /// <summary>Deliveries larger than this are refused with 413 before they are read. GitHub's own cap is 25 MB; ours are a few KB.</summary>
    public int MaxWebhookBytes { get; set; } = 1024 * 1024;
}

/// <summary>Configuration section <c>Admin</c>.</summary>
public sealed class AdminOptions
{
    public const string Section = "Admin";

    /// <summary>The bearer token of the admin API and dashboard; read from configuration or the environment, never stored.</summary>
    public string? Token { get; set; }

    /// <summary>Named operator tokens stored as SHA-256 digests, each with a role (<c>Admin:Tokens:N:Name</c>, <c>:Sha256</c>, <c>:Role</c>).</summary>
    public List<Admin.OperatorToken> Tokens { get; set; } = [];
}
