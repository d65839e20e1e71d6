using System.CommandLine;

namespace Builtiful.Cli;

/// <summary>
/// Options every command understands, made fresh for each command tree. Secrets come from the environment by default
/// and never appear in help.
/// </summary>
public sealed class CliOptions
{
    public const string TokenVariable = "BUILTIFUL_ADMIN_TOKEN";
    public const string SecretVariable = "GITHUB_WEBHOOK_SECRET";
    public const string UrlVariable = "BUILTIFUL_URL";
    public const string DefaultUrl = "http://localhost:5000";

    public Option<string> Url { get; } = new("--url")
    {
        Description = $"Base URL of a Builtiful gateway or all-in-one (default: ${UrlVariable}, else {DefaultUrl}).",
        Recursive = true,
    };

    public Option<string> Token { get; } = new("--token")
    {
        Description = $"Admin API bearer token (default: ${TokenVariable}).",
        Recursive = true,
    };

    public Option<string> Secret { get; } = new("--secret")
    {
        Description = $"Webhook secret that replayed deliveries are signed with (default: ${SecretVariable}).",
        Recursive = true,
    };

    public Option<bool> Json { get; } = new("--json")
    {
        Description = "Print the API's JSON instead of a table.",
        Recursive = true,
    };

    /// <summary>Null when the URL given is not an absolute http(s) URL.</summary>
    public Uri? BaseUrl(ParseResult parse)
    {
        ArgumentNullException.ThrowIfNull(parse);
        var text = parse.GetValue(Url) is { Length: > 0 } given ? given
            : Environment.GetEnvironmentVariable(UrlVariable) is { Length: > 0 } fromEnvironment ? fromEnvironment : DefaultUrl;
        return Uri.TryCreate(text, UriKind.Absolute, out var url) && url.Scheme is "http" or "https" ? url : null;
    }

    public string? AdminToken(ParseResult parse) => FromEnvironment(parse, Token, TokenVariable);

    public string? WebhookSecret(ParseResult parse) => FromEnvironment(parse, Secret, SecretVariable);

    public static Option<int?> Offset() => new("--offset") { Description = "Skip this many items (paging)." };

    public static Option<int?> Limit() => new("--limit") { Description = "At most this many items, 1 to 200 (default 50)." };

    private static string? FromEnvironment(ParseResult parse, Option<string> option, string variable)
    {
        ArgumentNullException.ThrowIfNull(parse);
        return parse.GetValue(option) is { Length: > 0 } given ? given
            : Environment.GetEnvironmentVariable(variable) is { Length: > 0 } fromEnvironment ? fromEnvironment : null;
    }
}
