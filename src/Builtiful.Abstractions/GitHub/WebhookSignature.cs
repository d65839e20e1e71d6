using System.Security.Cryptography;
using System.Text;

namespace Builtiful.GitHub;

/// <summary>GitHub's <c>X-Hub-Signature-256</c>: HMAC-SHA256 of the raw body, hex, prefixed <c>sha256=</c>.</summary>
public static class WebhookSignature
{
    public const string Header = "X-Hub-Signature-256";
    private const string Prefix = "sha256=";

    public static string Sign(string secret, ReadOnlySpan<byte> body)
    {
        ArgumentException.ThrowIfNullOrEmpty(secret);
        Span<byte> mac = stackalloc byte[HMACSHA256.HashSizeInBytes];
        HMACSHA256.HashData(Encoding.UTF8.GetBytes(secret), body, mac);
        return Prefix + Convert.ToHexStringLower(mac);
    }

    /// <summary>Constant-time check of <paramref name="signature"/> against the body.</summary>
    public static bool IsValid(string secret, ReadOnlySpan<byte> body, string? signature) =>
        !string.IsNullOrEmpty(secret) && IsValid(Encoding.UTF8.GetBytes(secret), body, signature);

    /// <summary>
    /// Constant-time check of <paramref name="signature"/> against the body under the secret's UTF-8 bytes, for callers
    /// that encode the secret once; allocates nothing.
    /// </summary>
    public static bool IsValid(ReadOnlySpan<byte> secretUtf8, ReadOnlySpan<byte> body, string? signature)
    {
        if (secretUtf8.IsEmpty || signature is null || !signature.StartsWith(Prefix, StringComparison.Ordinal))
        {
            return false;
        }

        var hex = signature.AsSpan(Prefix.Length);
        if (hex.Length != HMACSHA256.HashSizeInBytes * 2)
        {
            return false;
        }

        Span<byte> claimed = stackalloc byte[HMACSHA256.HashSizeInBytes];
        if (Convert.FromHexString(hex, claimed, out _, out var written) != System.Buffers.OperationStatus.Done || written != claimed.Length)
        {
            return false;
        }

        Span<byte> expected = stackalloc byte[HMACSHA256.HashSizeInBytes];
        HMACSHA256.HashData(secretUtf8, body, expected);
        return CryptographicOperations.FixedTimeEquals(expected, claimed);
    }
}
