using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text.Json;
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
}

/// <summary>What a verified identity document says.</summary>
public sealed record VerifiedIdentity(string InstanceId, string Region, string? AccountId);

/// <summary>
/// Verifies an EC2 instance identity document against its region's AWS certificate: the base64 signature from
/// IMDS <c>/latest/dynamic/instance-identity/signature</c> is RSA over the SHA-256 of the document's exact bytes.
/// </summary>
public sealed class IdentityDocuments(IOptionsMonitor<RunnerClaimOptions> options)
{
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

        using var certificate = Load(configured);
        using var rsa = certificate.GetRSAPublicKey();
        if (rsa is null || !rsa.VerifyData(document, signature, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1))
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

    private static X509Certificate2 Load(string configured) =>
        X509Certificate2.CreateFromPem(configured.Contains("-----BEGIN", StringComparison.Ordinal) ? configured : File.ReadAllText(configured));
}
