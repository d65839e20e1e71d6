using System.Globalization;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text.Json;

namespace Builtiful.Simulation.Cloud;

/// <summary>
/// The simulated cloud's own "AWS": an RSA key that signs each VM's instance identity document as EC2 signs the
/// document behind IMDS <c>/latest/dynamic/instance-identity/signature</c> (RSA over SHA-256 of the exact bytes). Its
/// certificate is what the gateway trusts as <c>Claims:IdentityCertificates:&lt;Region&gt;</c>; the key never leaves the cloud.
/// </summary>
public sealed class SimulatedInstanceIdentity : IDisposable
{
    /// <summary>The simulated cloud's one region, as its identity documents name it.</summary>
    public const string Region = "sim-local-1";

    /// <summary>The account every simulated VM runs in.</summary>
    public const string AccountId = "000000000000";

    private readonly RSA _key = RSA.Create(2048);

    public SimulatedInstanceIdentity(TimeProvider? time = null)
    {
        var now = (time ?? TimeProvider.System).GetUtcNow();
        var request = new CertificateRequest("CN=Simulated EC2 instance identity, O=Builtiful simulation", _key, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        using var certificate = request.CreateSelfSigned(now.AddDays(-1), now.AddYears(10));
        CertificatePem = certificate.ExportCertificatePem();
    }

    /// <summary>Public: give it to the gateway as <c>Claims:IdentityCertificates:sim-local-1</c>.</summary>
    public string CertificatePem { get; }

    /// <summary>The configuration key and value that make a gateway trust this cloud's documents.</summary>
    public KeyValuePair<string, string?> GatewaySetting => new($"Claims:IdentityCertificates:{Region}", CertificatePem);

    /// <summary>The document IMDS would serve this VM, byte for byte what is signed.</summary>
    public static byte[] Document(SimulatedVm vm)
    {
        ArgumentNullException.ThrowIfNull(vm);
        return Document(vm.InstanceId, vm.LaunchedAt);
    }

    /// <summary>The document IMDS would serve an instance of this cloud launched at <paramref name="launchedAt"/>.</summary>
    public static byte[] Document(string instanceId, DateTimeOffset launchedAt)
    {
        ArgumentException.ThrowIfNullOrEmpty(instanceId);
        using var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer, new JsonWriterOptions { Indented = true }))
        {
            json.WriteStartObject();
            json.WriteString("accountId", AccountId);
            json.WriteString("architecture", "x86_64");
            json.WriteString("availabilityZone", Region + "a");
            json.WriteString("instanceId", instanceId);
            json.WriteString("pendingTime", launchedAt.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture));
            json.WriteString("region", Region);
            json.WriteString("version", "2017-09-30");
            json.WriteEndObject();
        }

        return buffer.ToArray();
    }

    /// <summary>The base64 signature IMDS would serve beside the document.</summary>
    public string Sign(byte[] document) => Convert.ToBase64String(_key.SignData(document, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1));

    public void Dispose() => _key.Dispose();
}
