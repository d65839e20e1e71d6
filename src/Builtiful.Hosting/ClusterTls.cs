using System.Security.Authentication;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Orleans.Connections.Security;
using Orleans.Hosting;

namespace Builtiful.Hosting;

/// <summary>Configuration section <c>Orleans:Tls</c>: mutual TLS between silos and between gateways and silos.</summary>
public sealed class ClusterTlsOptions
{
    public const string Section = "Orleans:Tls";

    /// <summary>The key that runs a PostgreSQL cluster on plain TCP; named so that nobody sets it by accident.</summary>
    public const string DisabledKey = Section + ":" + nameof(Disabled);

    /// <summary>
    /// PKCS#12 (.pfx/.p12) file with this member's certificate and private key. Required with PostgreSQL clustering unless
    /// <see cref="Disabled"/>; the localhost cluster of the embedded default speaks plain TCP on loopback without it.
    /// </summary>
    public string? CertificatePath { get; set; }

    /// <summary>True runs a PostgreSQL cluster on plain TCP (a trial on one trusted network); every start logs a warning.</summary>
    public bool Disabled { get; set; }

    /// <summary>Password of <see cref="CertificatePath"/>; from the environment or a secret store.</summary>
    public string? Password { get; set; }

    /// <summary>
    /// Optional certificate (PEM or DER) of the cluster's own certificate authority. Set: a peer is admitted when its
    /// certificate chains to this authority. Unset: a peer must present this member's own certificate or one of
    /// <see cref="TrustedThumbprints"/>.
    /// </summary>
    public string? AuthorityPath { get; set; }

    /// <summary>Hex SHA-256 of further peer certificates to admit, so a certificate can be rolled member by member.</summary>
    public List<string> TrustedThumbprints { get; set; } = [];
}

/// <summary>
/// Silo-to-silo and client-to-silo TLS 1.3 with Microsoft.Orleans.Connections.Security, switched on by
/// <c>Orleans:Tls:CertificatePath</c>. Both directions require a certificate, and only admitted certificates pass:
/// a member without one cannot join the cluster, and a gateway without one cannot connect. With PostgreSQL clustering
/// (members on a network) TLS is required unless <c>Orleans:Tls:Disabled</c> says otherwise, loudly.
/// </summary>
public static class ClusterTls
{
    public static ISiloBuilder UseBuiltifulClusterTls(this ISiloBuilder silo, IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(silo);
        if (Secure(silo.Services, configuration) is { } trust)
        {
            silo.UseTls(trust.Certificate, trust.Apply);
        }

        return silo;
    }

    public static IClientBuilder UseBuiltifulClusterTls(this IClientBuilder client, IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(client);
        if (Secure(client.Services, configuration) is { } trust)
        {
            client.UseTls(trust.Certificate, trust.Apply);
        }

        return client;
    }

    /// <summary>What stops a start: a PostgreSQL cluster without a certificate and not explicitly disabled, or both at once.</summary>
    public static IReadOnlyList<string> Problems(IConfiguration configuration)
    {
        var options = ReadOptions(configuration);
        var certificate = !string.IsNullOrWhiteSpace(options.CertificatePath);
        if (options.Disabled && certificate)
        {
            return [$"{ClusterTlsOptions.DisabledKey} is true and {ClusterTlsOptions.Section}:CertificatePath is set: remove one of them."];
        }

        if (!options.Disabled && !certificate && PostgresDatabase.ConnectionString(configuration) is not null)
        {
            return [$"{ClusterTlsOptions.Section}:CertificatePath is not set: with PostgreSQL clustering silos and gateways talk across the network, so mutual TLS is required. " +
                $"Mount the cluster certificate (PKCS#12) and set Orleans__Tls__CertificatePath and Orleans__Tls__Password, or set {ClusterTlsOptions.DisabledKey}=true to run on plain TCP knowingly."];
        }

        return [];
    }

    internal static ClusterTlsOptions ReadOptions(IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        return configuration.GetSection(ClusterTlsOptions.Section).Get<ClusterTlsOptions>() ?? new ClusterTlsOptions();
    }

    private static ClusterTrust? Secure(IServiceCollection services, IConfiguration configuration)
    {
        if (Problems(configuration) is { Count: > 0 } problems)
        {
            throw new OptionsValidationException(ClusterTlsOptions.Section, typeof(ClusterTlsOptions), problems);
        }

        var trust = ClusterTrust.FromConfiguration(configuration);
        if (trust is null && PostgresDatabase.ConnectionString(configuration) is not null)
        {
            services.TryAddEnumerable(ServiceDescriptor.Singleton<IHostedService, PlainTcpWarning>());
        }

        return trust;
    }
}

/// <summary>Says at every start that <c>Orleans:Tls:Disabled</c> leaves the cluster's traffic readable on the network.</summary>
internal sealed partial class PlainTcpWarning(ILogger<PlainTcpWarning> logger) : IHostedService
{
    public Task StartAsync(CancellationToken cancellationToken)
    {
        LogPlainTcp(logger, ClusterTlsOptions.DisabledKey);
        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    [LoggerMessage(Level = LogLevel.Warning, Message = "INSECURE: {Key} is true: silo-to-silo and gateway-to-silo traffic of this PostgreSQL cluster is plain TCP, readable and forgeable by anyone on its network. Set Orleans:Tls:CertificatePath instead.")]
    private static partial void LogPlainTcp(ILogger logger, string key);
}

/// <summary>This member's certificate and the rule that decides which peers are admitted.</summary>
public sealed class ClusterTrust
{
    private readonly X509Certificate2? _authority;
    private readonly HashSet<string> _thumbprints;

    private ClusterTrust(X509Certificate2 certificate, X509Certificate2? authority, IEnumerable<string> thumbprints)
    {
        Certificate = certificate;
        _authority = authority;
        _thumbprints = new HashSet<string>(thumbprints.Select(t => t.Trim().ToUpperInvariant()), StringComparer.Ordinal) { Thumbprint(certificate) };
    }

    public X509Certificate2 Certificate { get; }

    /// <summary>Null when <c>Orleans:Tls:CertificatePath</c> is unset; throws with the key's name when it is set wrongly.</summary>
    public static ClusterTrust? FromConfiguration(IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        var options = ClusterTls.ReadOptions(configuration);
        if (string.IsNullOrWhiteSpace(options.CertificatePath))
        {
            return null;
        }

        if (!File.Exists(options.CertificatePath))
        {
            throw new InvalidOperationException($"Orleans:Tls:CertificatePath names '{options.CertificatePath}', which does not exist.");
        }

        X509Certificate2 certificate;
        try
        {
            certificate = X509CertificateLoader.LoadPkcs12FromFile(options.CertificatePath, options.Password);
        }
        catch (CryptographicException ex)
        {
            throw new InvalidOperationException($"Orleans:Tls:CertificatePath '{options.CertificatePath}' is not a PKCS#12 file that Orleans:Tls:Password opens: {ex.Message}", ex);
        }

        if (!certificate.HasPrivateKey)
        {
            throw new InvalidOperationException($"Orleans:Tls:CertificatePath '{options.CertificatePath}' holds no private key; a member must prove it owns its certificate.");
        }

        foreach (var thumbprint in options.TrustedThumbprints)
        {
            if (thumbprint.Trim() is not { Length: 64 } hex || !hex.All(char.IsAsciiHexDigit))
            {
                throw new InvalidOperationException($"Orleans:Tls:TrustedThumbprints holds '{thumbprint}'; each entry is the 64 hex digits of a certificate's SHA-256.");
            }
        }

        X509Certificate2? authority = null;
        if (!string.IsNullOrWhiteSpace(options.AuthorityPath))
        {
            if (!File.Exists(options.AuthorityPath))
            {
                throw new InvalidOperationException($"Orleans:Tls:AuthorityPath names '{options.AuthorityPath}', which does not exist.");
            }

            var text = File.ReadAllText(options.AuthorityPath);
            authority = text.Contains("-----BEGIN CERTIFICATE-----", StringComparison.Ordinal)
                ? X509Certificate2.CreateFromPem(text)
                : X509CertificateLoader.LoadCertificateFromFile(options.AuthorityPath);
        }

        return new ClusterTrust(certificate, authority, options.TrustedThumbprints);
    }

    /// <summary>Applied to Orleans' TLS options on both sides of every connection.</summary>
    public void Apply(TlsOptions tls)
    {
        ArgumentNullException.ThrowIfNull(tls);
        tls.SslProtocols = SslProtocols.Tls13;
        tls.RemoteCertificateMode = RemoteCertificateMode.RequireCertificate;
        tls.ClientCertificateMode = RemoteCertificateMode.RequireCertificate;
        tls.RemoteCertificateValidation = (certificate, _, _) => Admits(certificate);
    }

    /// <summary>
    /// Whether a peer's certificate is admitted. Host names are not checked: members are addressed by IP from the
    /// membership table, so a certificate proves membership, not a name.
    /// </summary>
    public bool Admits(X509Certificate2? certificate)
    {
        if (certificate is null)
        {
            return false;
        }

        if (_thumbprints.Contains(Thumbprint(certificate)))
        {
            return true;
        }

        if (_authority is null)
        {
            return false;
        }

        using var chain = new X509Chain();
        chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        chain.ChainPolicy.CustomTrustStore.Add(_authority);
        // A private cluster authority publishes no revocation list; retire a member by rotating the authority or pinning.
        chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        return chain.Build(certificate)
            && chain.ChainElements[^1].Certificate.RawDataMemory.Span.SequenceEqual(_authority.RawDataMemory.Span);
    }

    public static string Thumbprint(X509Certificate2 certificate)
    {
        ArgumentNullException.ThrowIfNull(certificate);
        return certificate.GetCertHashString(HashAlgorithmName.SHA256);
    }
}
