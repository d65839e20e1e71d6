using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.Options;

namespace Builtiful.Gateway.Admin;

/// <summary>An operator the presented token belongs to.</summary>
public sealed record OperatorIdentity(string Name, string Role);

/// <summary>
/// Resolves a presented bearer token to its operator by comparing SHA-256 digests in constant time against every
/// configured entry: the hashed <c>Admin:Tokens</c> and, for the embedded default and tests, the plain <c>Admin:Token</c>.
/// </summary>
public sealed class OperatorDirectory(IOptionsMonitor<AdminOptions> options)
{
    /// <summary>The name the single plain <c>Admin:Token</c> authenticates as.</summary>
    public const string PlainTokenName = "admin";

    public OperatorIdentity? Find(string? presented)
    {
        if (string.IsNullOrEmpty(presented))
        {
            return null;
        }

        Span<byte> digest = stackalloc byte[SHA256.HashSizeInBytes];
        SHA256.HashData(Encoding.UTF8.GetBytes(presented), digest);
        Span<byte> expected = stackalloc byte[SHA256.HashSizeInBytes];
        OperatorIdentity? found = null;
        var admin = options.CurrentValue;
        if (!string.IsNullOrEmpty(admin.Token))
        {
            SHA256.HashData(Encoding.UTF8.GetBytes(admin.Token), expected);
            if (CryptographicOperations.FixedTimeEquals(digest, expected))
            {
                found = new OperatorIdentity(PlainTokenName, OperatorRoles.Operator);
            }
        }

        // Every entry is compared, matched or not, so the time taken does not tell which entry (if any) matched.
        foreach (var token in admin.Tokens)
        {
            if (Convert.FromHexString(token.Sha256, expected, out _, out var written) == System.Buffers.OperationStatus.Done
                && written == expected.Length
                && CryptographicOperations.FixedTimeEquals(digest, expected)
                && found is null)
            {
                found = new OperatorIdentity(token.Name, token.Role);
            }
        }

        return found;
    }

    /// <summary>The hex digest to put in <c>Admin:Tokens:N:Sha256</c> for a token.</summary>
    public static string Digest(string token) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(token)));
}
