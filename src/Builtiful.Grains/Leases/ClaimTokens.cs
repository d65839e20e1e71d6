using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.Options;

namespace Builtiful.Leases;

/// <summary>
/// Single-use claim tokens, derived as HMAC-SHA256(claim key, lease id and attempt): the same on every retry of one
/// launch attempt (EC2 needs identical parameters for one ClientToken), and nothing secret is stored in the lease.
/// </summary>
public static class ClaimTokens
{
    public static string For(byte[] key, Guid leaseId, int attempt)
    {
        ArgumentNullException.ThrowIfNull(key);
        var message = Encoding.UTF8.GetBytes($"builtiful-claim-v1:{leaseId:N}:{attempt.ToString(CultureInfo.InvariantCulture)}");
        return Convert.ToHexStringLower(HMACSHA256.HashData(key, message));
    }

    /// <summary>A warm pool VM's token, HMAC-SHA256(claim key, pool VM id): the pool and the lease that takes the VM both derive it.</summary>
    public static string ForPoolVm(byte[] key, Guid vmId)
    {
        ArgumentNullException.ThrowIfNull(key);
        return Convert.ToHexStringLower(HMACSHA256.HashData(key, Encoding.UTF8.GetBytes($"builtiful-pool-claim-v1:{vmId:N}")));
    }

    /// <summary>True when <paramref name="token"/> is the pool VM's token; compared in constant time.</summary>
    public static bool MatchesPoolVm(byte[] key, Guid vmId, string? token) =>
        !string.IsNullOrEmpty(token) && CryptographicOperations.FixedTimeEquals(Encoding.UTF8.GetBytes(token), Encoding.UTF8.GetBytes(ForPoolVm(key, vmId)));

    /// <summary>True when <paramref name="token"/> is the token of one of the lease's attempts so far; compared in constant time.</summary>
    public static bool Matches(byte[] key, Guid leaseId, int attempts, string? token)
    {
        if (string.IsNullOrEmpty(token))
        {
            return false;
        }

        var given = Encoding.UTF8.GetBytes(token);
        var match = false;
        for (var attempt = 1; attempt <= Math.Max(attempts, 1); attempt++)
        {
            match |= CryptographicOperations.FixedTimeEquals(given, Encoding.UTF8.GetBytes(For(key, leaseId, attempt)));
        }

        return match;
    }
}

/// <summary>Configuration section <c>Claims</c> (silo side): the key claim tokens derive from and the URL VMs claim at.</summary>
public sealed class ClaimOptions
{
    public const string Section = "Claims";

    /// <summary>Base64, at least 32 bytes; every silo of a cluster must share it. The embedded host generates one per process.</summary>
    public string? Key { get; set; }

    /// <summary>The gateway's claim endpoint as VMs reach it, e.g. <c>https://builtiful.example.com/api/runners/claim</c>.</summary>
    public Uri? Url { get; set; }

    public byte[] KeyBytes() => Key is { Length: > 0 } key
        ? Convert.FromBase64String(key)
        : throw new InvalidOperationException($"{Section}:Key is not set: claim tokens cannot be derived.");
}

/// <summary>Where this silo's VMs claim their runner configs, read at each launch.</summary>
public interface IClaimAddress
{
    /// <summary>The claim endpoint as VMs reach it, or null when this silo does not know one (yet).</summary>
    Uri? Current { get; }

    /// <summary>
    /// The claim endpoint once this silo knows it: a host that learns it only when its own listener is bound answers then,
    /// so a lease woken during start-up waits for it instead of failing its launch. Null when it will never be known.
    /// </summary>
    Task<Uri?> WhenKnownAsync(CancellationToken cancellationToken) => Task.FromResult(Current);
}

/// <summary>The production answer: <c>Claims:Url</c>, which the production silo requires.</summary>
public sealed class ConfiguredClaimAddress(IOptions<ClaimOptions> options) : IClaimAddress
{
    public Uri? Current => options.Value.Url;
}
