using System.Text.RegularExpressions;

namespace Builtiful.Gateway.Logging;

/// <summary>
/// Replaces values that look like GitHub tokens (<c>ghs_</c>, <c>ghp_</c>, <c>gho_</c>, <c>ghu_</c>, <c>ghr_</c>,
/// <c>github_pat_</c>) and JSON web tokens with a marker that keeps only the kind of secret.
/// </summary>
public static partial class LogRedactor
{
    public const string Marker = "[REDACTED]";

    /// <summary>The text with every token-like value replaced; the same instance when there was nothing to replace.</summary>
    public static string Redact(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        // Cheap screen first: almost no log line contains either prefix, and those skip the regular expression.
        if (!text.Contains("gh", StringComparison.Ordinal) && !text.Contains("eyJ", StringComparison.Ordinal))
        {
            return text;
        }

        return Secrets().Replace(text, match => match.Groups["kind"].Success ? match.Groups["kind"].Value + Marker : "[REDACTED-JWT]");
    }

    public static bool NeedsRedaction(string text) =>
        text is not null && (text.Contains("gh", StringComparison.Ordinal) || text.Contains("eyJ", StringComparison.Ordinal)) && Secrets().IsMatch(text);

    // GitHub token prefixes followed by at least one token character; JWTs as base64url header.payload[.signature], both JSON objects.
    [GeneratedRegex(@"(?<![A-Za-z0-9_])(?<kind>gh[pousr]_|github_pat_)[A-Za-z0-9_]+|eyJ[A-Za-z0-9_-]*\.eyJ[A-Za-z0-9_-]*(\.[A-Za-z0-9_-]*)?", RegexOptions.CultureInvariant)]
    private static partial Regex Secrets();
}
