using System.Security.Cryptography;
using System.Text;

namespace Builtiful.Compute.Ec2.Launching;

/// <summary>Idempotency tokens for the fallback launches of one attempt: new per candidate, the same on every retry.</summary>
public static class ClientTokens
{
    /// <summary>EC2's limit on ClientToken.</summary>
    public const int MaxLength = 64;

    /// <summary>The attempt's own token for the first candidate; <c>{token}-c{n}</c> (hashed if too long) for the n-th fallback.</summary>
    public static string ForCandidate(string attemptToken, int candidate)
    {
        ArgumentException.ThrowIfNullOrEmpty(attemptToken);
        ArgumentOutOfRangeException.ThrowIfNegative(candidate);
        if (candidate == 0)
        {
            return attemptToken;
        }

        var suffix = $"-c{candidate}";
        if (attemptToken.Length + suffix.Length <= MaxLength)
        {
            return attemptToken + suffix;
        }

        // Truncating could make two long tokens collide; a digest of the whole token cannot in practice.
        var digest = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(attemptToken)))[..40];
        return digest + suffix;
    }

    /// <summary>A stable spread of attempts over targets and subnets, so retries of one attempt walk the same path.</summary>
    public static int Spread(string attemptToken, int buckets)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(buckets);
        var digest = SHA256.HashData(Encoding.UTF8.GetBytes(attemptToken));
        return (int)(BitConverter.ToUInt32(digest, 0) % (uint)buckets);
    }
}
