using System.Diagnostics;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Builtiful.Gateway.Host;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Builtiful.Silo.Tests;

/// <summary>
/// Issue 17's "production refuses unsafe defaults": on PostgreSQL no host generates a secret or talks plain TCP unless
/// told so by name; each refusal names the key to set.
/// </summary>
[Collection(PostgresCollection.Name)]
public sealed class ProductionDefaultsTests(PostgresServer postgres)
{
    /// <summary>Nothing listens here: every refusal comes before a connection is tried.</summary>
    private const string UnusedDatabase = "Host=127.0.0.1;Port=1;Database=none;Username=none";

    private static readonly string[] SecretVariables =
    [
        "GitHub__WebhookSecret", "Admin__Token", "Admin__Tokens__0__Name", "Orleans__Tls__CertificatePath", "Orleans__Tls__Disabled", "Claims__Key", "Claims__Url",
    ];

    [Fact]
    public async Task The_silo_process_on_PostgreSQL_without_secrets_or_TLS_exits_2_naming_each_key()
    {
        var (exit, message) = await RunAsync("Builtiful.Silo.dll", new Dictionary<string, string>
        {
            ["Compute__Provider"] = "Ec2",
            ["GitHub__Mode"] = "App",
            ["GitHub__AppId"] = "1",
            ["GitHub__PrivateKeyPath"] = "/nonexistent.pem",
            ["ConnectionStrings__Builtiful"] = UnusedDatabase,
        });

        Assert.Equal(2, exit);
        Assert.Contains("GitHub:WebhookSecret is not set", message, StringComparison.Ordinal);
        Assert.Contains("Admin:Tokens (or Admin:Token) is not set", message, StringComparison.Ordinal);
        Assert.Contains("Orleans:Tls:CertificatePath is not set", message, StringComparison.Ordinal);
        Assert.Contains("Orleans:Tls:Disabled=true", message, StringComparison.Ordinal);
        Assert.Contains("Claims:Key is not set", message, StringComparison.Ordinal);
        Assert.Contains("Claims:Url is not set", message, StringComparison.Ordinal);
        Assert.DoesNotContain("ConnectionStrings:Builtiful", message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_gateway_process_without_secrets_or_TLS_exits_2_naming_each_key()
    {
        var (exit, message) = await RunAsync("Builtiful.Gateway.Host.dll", new Dictionary<string, string>
        {
            ["ConnectionStrings__Builtiful"] = UnusedDatabase,
        });

        Assert.Equal(2, exit);
        Assert.Contains("GitHub:WebhookSecret is not set", message, StringComparison.Ordinal);
        Assert.Contains("Admin:Tokens (or Admin:Token) is not set", message, StringComparison.Ordinal);
        Assert.Contains("Orleans:Tls:CertificatePath is not set", message, StringComparison.Ordinal);
        Assert.Contains("Claims:IdentityCertificates names no region", message, StringComparison.Ordinal);
    }

    [Fact]
    public void With_the_secrets_and_TLS_disabled_by_name_only_the_contradiction_of_both_is_refused()
    {
        var settings = GatewaySettings();
        Assert.Empty(GatewayHost.Problems(Configuration(settings)));

        settings["Orleans:Tls:CertificatePath"] = "/var/run/secrets/builtiful/cluster-tls/cluster.pfx";
        var problem = Assert.Single(GatewayHost.Problems(Configuration(settings)));
        Assert.Contains("Orleans:Tls:Disabled is true and Orleans:Tls:CertificatePath is set", problem, StringComparison.Ordinal);
    }

    [Fact]
    public void A_gateway_whose_identity_certificate_cannot_be_read_is_refused_naming_the_region_and_path()
    {
        var settings = GatewaySettings();
        var missing = Path.Combine(Path.GetTempPath(), $"builtiful-{Guid.NewGuid():N}.pem");
        settings["Claims:IdentityCertificates:eu-west-1"] = missing;
        settings["Claims:IdentityCertificates:eu-north-1"] = "-----BEGIN CERTIFICATE-----\nnot a certificate\n-----END CERTIFICATE-----";
        settings["Claims:IdentityCertificates:ap-south-1"] = IdentityCertificate(ECDsa.Create());

        var problems = GatewayHost.Problems(Configuration(settings));

        Assert.Equal(3, problems.Count);
        Assert.Contains(problems, p => p.StartsWith($"Claims:IdentityCertificates:eu-west-1 ('{missing}') cannot be read as a PEM certificate", StringComparison.Ordinal));
        Assert.Contains(problems, p => p.StartsWith("Claims:IdentityCertificates:eu-north-1 (PEM text) cannot be read as a PEM certificate", StringComparison.Ordinal));
        Assert.Contains(problems, p => p.StartsWith("Claims:IdentityCertificates:ap-south-1 (PEM text) holds a certificate without an RSA key", StringComparison.Ordinal));
    }

    [Fact]
    public void A_gateway_reads_an_identity_certificate_from_a_PEM_file()
    {
        var settings = GatewaySettings();
        var file = Path.Combine(Path.GetTempPath(), $"builtiful-{Guid.NewGuid():N}.pem");
        File.WriteAllText(file, settings["Claims:IdentityCertificates:us-east-1"]);
        try
        {
            settings["Claims:IdentityCertificates:us-east-1"] = file;
            Assert.Empty(GatewayHost.Problems(Configuration(settings)));
        }
        finally
        {
            File.Delete(file);
        }
    }

    /// <summary>Everything a standalone gateway needs on PostgreSQL, with cluster TLS disabled by name.</summary>
    private static Dictionary<string, string?> GatewaySettings()
    {
        return new Dictionary<string, string?>
        {
            ["ConnectionStrings:Builtiful"] = UnusedDatabase,
            ["GitHub:WebhookSecret"] = "s",
            ["Admin:Tokens:0:Name"] = "alice",
            ["Orleans:Tls:Disabled"] = "true",
            ["Claims:IdentityCertificates:us-east-1"] = IdentityCertificate(RSA.Create(2048)),
        };
    }

    /// <summary>A self-signed certificate of <paramref name="key"/>, which it disposes.</summary>
    private static string IdentityCertificate(AsymmetricAlgorithm key)
    {
        var request = key switch
        {
            RSA rsa => new CertificateRequest("CN=Test AWS instance identity", rsa, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1),
            ECDsa ecdsa => new CertificateRequest("CN=Test AWS instance identity", ecdsa, HashAlgorithmName.SHA256),
            _ => throw new ArgumentOutOfRangeException(nameof(key)),
        };
        using var certificate = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(1));
        key.Dispose();
        return certificate.ExportCertificatePem();
    }

    [Fact]
    public void The_embedded_host_on_PostgreSQL_generates_no_secret()
    {
        var refused = Assert.Throws<OptionsValidationException>(() => EmbeddedHost.Build([$"--ConnectionStrings:Builtiful={UnusedDatabase}"]));

        Assert.Contains(refused.Failures, f => f.StartsWith("GitHub:WebhookSecret is not set", StringComparison.Ordinal));
        Assert.Contains(refused.Failures, f => f.StartsWith("Admin:Tokens (or Admin:Token) is not set", StringComparison.Ordinal));
        Assert.Contains(refused.Failures, f => f.StartsWith("Claims:Key is not set", StringComparison.Ordinal));
    }

    [Fact]
    public async Task The_embedded_host_on_PostgreSQL_without_TLS_is_refused_naming_the_certificate_key()
    {
        await using var cluster = await PostgresCluster.CreateAsync(postgres, fakeClock: false);
        var settings = cluster.Settings();
        settings.Remove(ClusterTlsOptions.DisabledKey);

        var refused = await Assert.ThrowsAsync<OptionsValidationException>(() => BuiltifulInstance.StartAsync(settings,
            builder => builder.UseSimulatedGitHub(cluster.GitHub.World, cluster.GitHub.ApiUrl)));

        Assert.Contains(refused.Failures, f => f.StartsWith("Orleans:Tls:CertificatePath is not set", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_cluster_on_plain_TCP_by_name_warns_at_start()
    {
        await using var cluster = await PostgresCluster.CreateAsync(postgres, fakeClock: false);
        var capture = new LogCapture();

        var silo = await BuiltifulInstance.StartAsync(cluster.Settings(), builder =>
        {
            builder.UseSimulatedGitHub(cluster.GitHub.World, cluster.GitHub.ApiUrl);
            builder.Logging.AddProvider(capture);
        });
        await silo.StopAsync();

        var warning = Assert.Single(capture.Lines, l => l.Message.StartsWith("INSECURE", StringComparison.Ordinal));
        Assert.Equal(LogLevel.Warning, warning.Level);
        Assert.Contains("Orleans:Tls:Disabled is true", warning.Message, StringComparison.Ordinal);
    }

    private static IConfiguration Configuration(Dictionary<string, string?> settings) => new ConfigurationBuilder().AddInMemoryCollection(settings).Build();

    /// <summary>Runs a host's real dll from this test's output folder with the given environment and no inherited secrets.</summary>
    private static async Task<(int Exit, string Message)> RunAsync(string dll, Dictionary<string, string> environment)
    {
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        start.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, dll));
        foreach (var variable in SecretVariables)
        {
            start.Environment.Remove(variable);
        }

        foreach (var (key, value) in environment)
        {
            start.Environment[key] = value;
        }

        using var process = Process.Start(start)!;
        var error = process.StandardError.ReadToEndAsync();
        var output = process.StandardOutput.ReadToEndAsync();
        await process.WaitForExitAsync().WaitAsync(TimeSpan.FromMinutes(1));
        return (process.ExitCode, await error + await output);
    }
}
