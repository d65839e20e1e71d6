using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using System.Text.Json;
using Amazon.EC2;
using Amazon.EC2.Model;
using Builtiful.Gateway.Host;
using Builtiful.Leases;
using Builtiful.Providers;
using Builtiful.Simulation.GitHub;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace Builtiful.Silo.Tests;

/// <summary>
/// The documented production path in one process: the production silo (EC2 on moto, a GitHub App on the simulated
/// GitHub, PostgreSQL) and a standalone gateway, joined by mutual TLS, each with its management listener. GitHub's
/// deliveries reach the gateway only, so a VM in moto proves that gateway and silo talked over TLS; the VM's claim
/// through the gateway gets the runner config the silo mints only then.
/// </summary>
[Collection(PostgresCollection.Name)]
public sealed class ProductionPairTests(PostgresServer postgres) : IAsyncLifetime
{
    private readonly MotoServer _moto = new() { CreateDefaultNetworks = false };
    private readonly TestCertificates _certificates = new();
    private readonly string _clusterName = "pair-" + Guid.NewGuid().ToString("N")[..12];
    private MotoRunnerNetwork _network = null!;
    private AmazonEC2Client _ec2 = null!;

    public async Task InitializeAsync()
    {
        // As in Ec2EndToEndTests: the SDK's default chain finds moto's credentials, process-wide and only ever moto's.
        Environment.SetEnvironmentVariable("AWS_ACCESS_KEY_ID", "testing");
        Environment.SetEnvironmentVariable("AWS_SECRET_ACCESS_KEY", "testing");
        Environment.SetEnvironmentVariable("AWS_EC2_METADATA_DISABLED", "true");
        await _moto.InitializeAsync();
        _network = await _moto.CreateRunnerNetworkAsync(MotoServer.Region, ["us-east-1a"]);
        _ec2 = _moto.DirectClient();
    }

    public async Task DisposeAsync()
    {
        _ec2?.Dispose();
        await _moto.DisposeAsync();
        _certificates.Dispose();
    }

    [Fact]
    public async Task Silo_and_gateway_talk_over_TLS_and_serve_metrics_and_readiness_only_on_their_management_ports()
    {
        await using var cluster = await PostgresCluster.CreateAsync(postgres, fakeClock: false);
        var shared = cluster.Settings();
        shared.Remove(ClusterTlsOptions.DisabledKey);
        shared["Orleans:Tls:CertificatePath"] = _certificates.Create("cluster").PfxPath;
        shared["Orleans:Tls:Password"] = _certificates.Password;
        shared["GitHub:WebhookSecret"] = BuiltifulInstance.WebhookSecret;
        shared["Admin:Token"] = BuiltifulInstance.AdminToken;
        shared["Management:Port"] = "0";
        shared["Management:Address"] = "127.0.0.1";
        shared["Logging:LogLevel:Default"] = "Warning";

        using var silo = ProductionSilo.Build(Arguments(SiloSettings(shared, cluster)));
        await silo.StartAsync();
        // The gateway trusts a test "AWS" for moto's region, whose key signs the identity document of the claim below.
        using var aws = RSA.Create(2048);
        var gatewaySettings = new Dictionary<string, string>(shared)
        {
            ["urls"] = "http://127.0.0.1:0",
            [$"Claims:IdentityCertificates:{MotoServer.Region}"] = Certificate(aws),
        };
        await using var gateway = GatewayHost.Build(Arguments(gatewaySettings));
        await gateway.StartAsync();
        try
        {
            using var http = new HttpClient { BaseAddress = new Uri(gateway.Urls.First()) };
            using var siloManagement = new HttpClient { BaseAddress = silo.Services.GetRequiredService<ManagementServer>().Addresses[0] };
            using var gatewayManagement = new HttpClient { BaseAddress = gateway.Services.GetRequiredService<ManagementServer>().Addresses[0] };

            // GitHub delivers to the gateway only; the silo launches on EC2 what the gateway hands it over TLS.
            var world = cluster.GitHub.World;
            world.SetWebhookTargets([new Uri(http.BaseAddress, "/api/github/webhooks")]);
            var installationId = Random.Shared.NextInt64(1_000_000, long.MaxValue);
            var login = "pair-" + Guid.NewGuid().ToString("N")[..8];
            await world.InstallAsync(installationId, login, AccountKind.Organization);
            world.AddRepository(installationId, login + "/app", isPublic: false);
            var jobId = await world.QueueJobAsync(new JobSpec { Repository = login + "/app", Labels = ["builtiful-2vcpu-ubuntu-2404"] });

            var instance = await Eventually.Until(
                async () => (await OurInstancesAsync()).SingleOrDefault(),
                found => found is not null,
                "the production silo launches one instance on moto for the job delivered through the gateway",
                TimeSpan.FromSeconds(90));
            var tags = instance!.Tags.ToDictionary(t => t.Key, t => t.Value, StringComparer.Ordinal);
            Assert.Equal(jobId.ToString(CultureInfo.InvariantCulture), tags[InstanceTags.Job]);
            Assert.All(world.Deliveries.Where(d => d.JobId == jobId), d => Assert.Equal(200, d.StatusCode));

            // The VM's claim, as its user data sends it (moto boots nothing): the config is minted now, by the silo's
            // GitHub App client, and GitHub's own record knows it as this lease's runner.
            var leaseId = Guid.Parse(tags[InstanceTags.Lease]);
            var document = Encoding.UTF8.GetBytes($$"""{"accountId":"123456789012","instanceId":"{{instance.InstanceId}}","region":"{{MotoServer.Region}}"}""");
            var claim = new
            {
                leaseId,
                token = ClaimTokens.For(Convert.FromBase64String(PostgresCluster.ClaimKey), leaseId, 1),
                document = Convert.ToBase64String(document),
                signature = Convert.ToBase64String(aws.SignData(document, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1)),
            };
            var granted = await Eventually.Until(
                async () =>
                {
                    using var answer = await http.PostAsJsonAsync("/api/runners/claim", claim);
                    return answer.StatusCode == HttpStatusCode.OK ? await answer.Content.ReadFromJsonAsync<JsonElement>() : (JsonElement?)null;
                },
                answer => answer is not null,
                "the lease knows its instance and grants the claim");
            var session = world.Connect(granted!.Value.GetProperty("encodedJitConfig").GetString()!);
            Assert.Equal(RunnerNames.ForLease(leaseId), session?.RunnerName);

            using (var request = new HttpRequestMessage(HttpMethod.Get, $"/api/v1/organisations/{installationId}"))
            {
                request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", BuiltifulInstance.AdminToken);
                using var organisation = await http.SendAsync(request);
                Assert.Equal(HttpStatusCode.OK, organisation.StatusCode);
            }

            // The silo's launch and the gateway's delivery are exported on the management listeners, without installations.
            var siloMetrics = await ScrapeUntilAsync(siloManagement, "builtiful_lease_launch_latency_seconds_bucket{");
            var gatewayMetrics = await ScrapeUntilAsync(gatewayManagement, "builtiful_webhook_deliveries_total{");
            Assert.Matches("builtiful_webhook_deliveries_total\\{[^}]*event=\"workflow_job\"[^}]*outcome=\"applied\"[^}]*\\} [1-9]", gatewayMetrics);
            Assert.Contains("builtiful_github_calls_total{", siloMetrics, StringComparison.Ordinal);
            foreach (var scrape in new[] { siloMetrics, gatewayMetrics })
            {
                // No label is named after installations (event="installation" is a kind of delivery, not one installation).
                Assert.DoesNotMatch("[{,]installation[a-z_]*=", scrape);
                Assert.DoesNotContain(installationId.ToString(CultureInfo.InvariantCulture), scrape, StringComparison.Ordinal);
            }

            foreach (var management in new[] { siloManagement, gatewayManagement })
            {
                using var ready = await management.GetAsync("/readyz");
                Assert.Equal(HttpStatusCode.OK, ready.StatusCode);
                using var alive = await management.GetAsync("/healthz");
                Assert.Equal(HttpStatusCode.OK, alive.StatusCode);
                using var other = await management.GetAsync($"/api/v1/organisations/{installationId}");
                Assert.Equal(HttpStatusCode.NotFound, other.StatusCode);
            }

            // The public listener answers GitHub and operators only.
            foreach (var path in new[] { "/metrics", "/readyz" })
            {
                using var hidden = await http.GetAsync(path);
                Assert.Equal(HttpStatusCode.NotFound, hidden.StatusCode);
            }
        }
        finally
        {
            await gateway.StopAsync();
            await silo.StopAsync();
        }
    }

    /// <summary>What the silo's Deployment sets: EC2 on moto's runner network, the App on the simulated GitHub.</summary>
    private Dictionary<string, string> SiloSettings(Dictionary<string, string> shared, PostgresCluster cluster)
    {
        var settings = new Dictionary<string, string>(shared)
        {
            ["contentRoot"] = AppContext.BaseDirectory,
            ["Orleans:SiloPort"] = BuiltifulInstance.FreePort().ToString(CultureInfo.InvariantCulture),
            ["Orleans:GatewayPort"] = BuiltifulInstance.FreePort().ToString(CultureInfo.InvariantCulture),
            ["Compute:Provider"] = "Ec2",
            ["Compute:Ec2:Region"] = MotoServer.Region,
            ["Compute:Ec2:ServiceUrl"] = _moto.Url.ToString(),
            ["Compute:Ec2:SecurityGroupId"] = _network.SecurityGroupId,
            ["Compute:Ec2:Images:x64"] = _moto.ImageId,
            ["Compute:Ec2:SubnetIds:0"] = _network.SubnetIds[0],
            ["Compute:Ec2:ClusterName"] = _clusterName,
            ["Leases:ClusterName"] = _clusterName,
            ["GitHub:Mode"] = "App",

            // Where the VMs would claim their runner configs; moto boots nothing, so none ever does.
            ["Claims:Url"] = "https://builtiful.example.com/api/runners/claim",
        };
        foreach (var (key, value) in cluster.GitHub.AppSettings)
        {
            settings[key] = value!;
        }

        return settings;
    }

    private static string[] Arguments(Dictionary<string, string> settings) => [.. settings.Select(kv => $"--{kv.Key}={kv.Value}")];

    private static string Certificate(RSA key)
    {
        var request = new CertificateRequest("CN=Test AWS instance identity", key, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        using var certificate = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(1));
        return certificate.ExportCertificatePem();
    }

    private static Task<string> ScrapeUntilAsync(HttpClient management, string series) => Eventually.Until(
        async () =>
        {
            using var response = await management.GetAsync("/metrics");
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            return await response.Content.ReadAsStringAsync();
        },
        text => text.Contains(series, StringComparison.Ordinal),
        $"{series} is exported on {management.BaseAddress}");

    private async Task<List<Instance>> OurInstancesAsync()
    {
        var response = await _ec2.DescribeInstancesAsync(new DescribeInstancesRequest { Filters = [new Filter($"tag:{InstanceTags.Cluster}", [_clusterName])] });
        return [.. (response.Reservations ?? []).SelectMany(r => r.Instances ?? [])];
    }
}
