using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text.Json;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Options;

namespace Builtiful.Gateway.Claims;

/// <summary>
/// Configuration section <c>Claims</c> (gateway side): the AWS public certificate per region that signs instance
/// identity documents (the "RSA" certificate, for the base64 <c>/signature</c>), as PEM text or a path to a PEM file.
/// The simulation and tests configure their own.
/// </summary>
public sealed class RunnerClaimOptions
{
    public const string Section = "Claims";

    public Dictionary<string, string> IdentityCertificates { get; set; } = new(StringComparer.Ordinal);

    /// <summary>How long a pool VM's claim is held waiting for a lease to take the VM before a 202 "claim again"; under proxies' idle timeouts.</summary>
    public TimeSpan PoolWait { get; set; } = TimeSpan.FromSeconds(20);

    /// <summary>
    /// Why a production gateway cannot verify runner claims: no region's certificate, or one that is neither PEM text nor a
    /// readable PEM file holding an RSA certificate. Each reason names its key; certificates are public, paths are shown.
    /// </summary>
    public static IReadOnlyList<string> Problems(IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        var regions = configuration.GetSection($"{Section}:{nameof(IdentityCertificates)}").GetChildren().ToList();
        if (regions.Count == 0)
        {
            return [$"{Section}:{nameof(IdentityCertificates)} names no region: the gateway verifies every runner claim's instance identity document " +
                $"against AWS's RSA certificate of the VM's region, so without one every claim is refused. Set {Section}__{nameof(IdentityCertificates)}__<region> " +
                "(PEM text or a PEM file path) for each region runners launch in (\"AWS public certificates for instance identity document signatures\", the RSA one)."];
        }

        var problems = new List<string>();
        foreach (var region in regions)
        {
            var key = $"{Section}:{nameof(IdentityCertificates)}:{region.Key}";
            var shown = region.Value is { } v && !v.Contains("-----BEGIN", StringComparison.Ordinal) ? $"'{v}'" : "PEM text";
            if (string.IsNullOrWhiteSpace(region.Value))
            {
                problems.Add($"{key} is empty: give AWS's RSA certificate for {region.Key} as PEM text or a PEM file path.");
                continue;
            }

            try
            {
                using var certificate = IdentityDocuments.Load(region.Value);
                using var rsa = certificate.GetRSAPublicKey();
                if (rsa is null)
                {
                    problems.Add($"{key} ({shown}) holds a certificate without an RSA key: use the RSA certificate, which signs /signature (not the DSA or RSA-2048 one).");
                }
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException or CryptographicException or ArgumentException)
            {
                problems.Add($"{key} ({shown}) cannot be read as a PEM certificate: {e.Message}");
            }
        }

        return problems;
    }
}

/// <summary>What a verified identity document says.</summary>
public sealed record VerifiedIdentity(string InstanceId, string Region, string? AccountId);

/// <summary>
/// Verifies an EC2 instance identity document against its region's AWS certificate: the base64 signature from
/// IMDS <c>/latest/dynamic/instance-identity/signature</c> is RSA over the SHA-256 of the document's exact bytes.
/// </summary>
public sealed class IdentityDocuments(IOptionsMonitor<RunnerClaimOptions> options) : IDisposable
{
    /// <summary>
    /// Each configured certificate's public key, parsed once per configured value (PEM text or file path) instead of once
    /// per claim: parsing the certificate and importing its key cost several times the signature check itself. A changed
    /// setting is parsed afresh; a certificate file rewritten in place is read again on restart.
    /// </summary>
    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, Lazy<VerifyingKey>> _keys = new(StringComparer.Ordinal);

    public void Dispose()
    {
        foreach (var key in _keys.Values.Where(k => k.IsValueCreated))
        {
            key.Value.Dispose();
        }
    }

    /// <summary>The identity, or null with the reason when the document or its signature does not hold.</summary>
    public (VerifiedIdentity? Identity, string? Refusal) Verify(byte[] document, byte[] signature)
    {
        ArgumentNullException.ThrowIfNull(document);
        ArgumentNullException.ThrowIfNull(signature);
        string? region;
        try
        {
            using var parsed = JsonDocument.Parse(document);
            region = parsed.RootElement.TryGetProperty("region", out var r) ? r.GetString() : null;
        }
        catch (JsonException)
        {
            return (null, "the identity document is not JSON");
        }

        if (string.IsNullOrEmpty(region) || !options.CurrentValue.IdentityCertificates.TryGetValue(region, out var configured))
        {
            return (null, $"no identity certificate is configured for region '{region}' ({RunnerClaimOptions.Section}:IdentityCertificates:<region>)");
        }

        var key = _keys.GetOrAdd(configured, c => new Lazy<VerifyingKey>(() => VerifyingKey.Load(c))).Value;
        if (!key.Verifies(document, signature))
        {
            return (null, "the identity document's signature does not verify against the region's AWS certificate");
        }

        // Read only after the signature holds: every field below is AWS's word.
        using var verified = JsonDocument.Parse(document);
        var root = verified.RootElement;
        var instanceId = root.TryGetProperty("instanceId", out var i) ? i.GetString() : null;
        if (string.IsNullOrEmpty(instanceId))
        {
            return (null, "the identity document names no instance");
        }

        return (new VerifiedIdentity(instanceId, region, root.TryGetProperty("accountId", out var a) ? a.GetString() : null), null);
    }

    internal static X509Certificate2 Load(string configured) =>
        X509Certificate2.CreateFromPem(configured.Contains("-----BEGIN", StringComparison.Ordinal) ? configured : File.ReadAllText(configured));
}

/// <summary>A certificate's RSA public key, verifying one signature at a time (an RSA instance is not safe to share across threads).</summary>
internal sealed class VerifyingKey : IDisposable
{
    private readonly RSA? _rsa;
    private readonly Lock _gate = new();

    private VerifyingKey(RSA? rsa) => _rsa = rsa;

    public static VerifyingKey Load(string configured)
    {
        using var certificate = IdentityDocuments.Load(configured);
        return new VerifyingKey(certificate.GetRSAPublicKey());
    }

    /// <summary>False for a certificate without an RSA key, as for a signature that does not hold.</summary>
    public bool Verifies(byte[] document, byte[] signature)
    {
        if (_rsa is null)
        {
            return false;
        }

        lock (_gate)
        {
            return _rsa.VerifyData(document, signature, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        }
    }

    public void Dispose() => _rsa?.Dispose();
}
