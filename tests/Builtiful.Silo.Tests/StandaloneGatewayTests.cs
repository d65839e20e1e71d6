using System.Net;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using Builtiful.GitHub;
using Builtiful.Gateway.Host;
using Builtiful.Simulation.GitHub;

namespace Builtiful.Silo.Tests;

/// <summary>The gateway as its own stateless process: an Orleans client that finds the silos through PostgreSQL.</summary>
[Collection(PostgresCollection.Name)]
public sealed class StandaloneGatewayTests(PostgresServer postgres)
{
    [Fact]
    public async Task A_delivery_to_the_standalone_gateway_reaches_the_silos_and_the_job_runs()
    {
        await using var cluster = await PostgresCluster.CreateAsync(postgres, fakeClock: false);
        var silo = await cluster.StartSiloAsync();
        await using var gateway = await StartGatewayAsync(cluster);
        using var http = new HttpClient { BaseAddress = new Uri(gateway.Urls.First()) };
        var installationId = Random.Shared.NextInt64(1_000_000, long.MaxValue);
        var login = "standalone-" + Guid.NewGuid().ToString("N")[..8];
        var repository = login + "/app";

        // GitHub delivers to the standalone gateway only; the job is the world's, so a runner on our VM takes it.
        var world = cluster.GitHub.World;
        world.SetWebhookTargets([new Uri(http.BaseAddress, "/api/github/webhooks")]);
        await world.InstallAsync(installationId, login, AccountKind.Organization);
        world.AddRepository(installationId, repository, isPublic: false);
        Assert.Equal(HttpStatusCode.OK, await DeliverAsync(http, "installation", Payloads.Installation("installation.created.1.json", installationId, login)));
        var jobId = await world.QueueJobAsync(new JobSpec { Repository = repository, Labels = ["builtiful-2vcpu-ubuntu-2404"] });

        var job = await Eventually.Until(
            async () => (await silo.AdminJsonAsync($"/api/v1/jobs/{jobId}"))?.GetProperty("status").GetString(),
            status => status == "completed",
            "the job delivered through the standalone gateway completes");
        Assert.Equal("completed", job);
        Assert.Equal("success", Assert.Single(world.Jobs, j => j.Id == jobId).Conclusion);
        Assert.StartsWith("builtiful-", Assert.Single(world.Jobs, j => j.Id == jobId).RunnerName, StringComparison.Ordinal);
        Assert.All(world.Deliveries.Where(d => d.JobId == jobId), d => Assert.Equal(200, d.StatusCode));
        using var request = new HttpRequestMessage(HttpMethod.Get, $"/api/v1/jobs/{jobId}");
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", BuiltifulInstance.AdminToken);
        using var viaGateway = await http.SendAsync(request);
        Assert.Equal(HttpStatusCode.OK, viaGateway.StatusCode);
        await gateway.StopAsync();
    }

    [Fact]
    public async Task With_no_silo_left_the_gateway_answers_503_naming_the_cause_keeps_running_and_applies_the_redelivery_once_a_silo_is_back()
    {
        await using var cluster = await PostgresCluster.CreateAsync(postgres, fakeClock: false);
        var silo = await cluster.StartSiloAsync();
        await using var gateway = await StartGatewayAsync(cluster);
        using var http = new HttpClient { BaseAddress = new Uri(gateway.Urls.First()) };
        var before = Random.Shared.NextInt64(1_000_000, long.MaxValue);
        Assert.Equal(HttpStatusCode.OK, await DeliverAsync(http, "installation", Payloads.Installation("installation.created.1.json", before)));

        await cluster.StopAsync(silo);
        var during = Random.Shared.NextInt64(1_000_000, long.MaxValue);
        var payload = Payloads.Installation("installation.created.1.json", during);
        using (var refused = await SendAsync(http, "installation", payload))
        {
            var problem = await refused.Content.ReadAsStringAsync();
            Assert.Equal(HttpStatusCode.ServiceUnavailable, refused.StatusCode);
            Assert.Contains("Builtiful is unavailable", problem, StringComparison.Ordinal);
            Assert.Contains("may not have been applied", problem, StringComparison.Ordinal);
            Assert.NotNull(refused.Headers.RetryAfter);
        }

        // The gateway itself is alive: a ping needs no grain.
        Assert.Equal(HttpStatusCode.OK, await DeliverAsync(http, "ping", "{\"zen\":\"Keep it logically awesome.\",\"hook_id\":1}"));

        // GitHub's redelivery of the failed delivery, once a silo is back, applies it.
        var back = await cluster.StartSiloAsync();
        await Eventually.Until(
            () => DeliverAsync(http, "installation", payload),
            status => status == HttpStatusCode.OK,
            "the redelivered installation is applied once a silo is back",
            timeout: TimeSpan.FromMinutes(2));
        var organisation = await back.AdminJsonAsync($"/api/v1/organisations/{during}");
        Assert.Equal("active", organisation?.GetProperty("status").GetString());
        await gateway.StopAsync();
    }

    private static async Task<Microsoft.AspNetCore.Builder.WebApplication> StartGatewayAsync(PostgresCluster cluster)
    {
        var settings = cluster.Settings();
        settings["urls"] = "http://127.0.0.1:0";
        settings["GitHub:WebhookSecret"] = BuiltifulInstance.WebhookSecret;
        settings["Admin:Token"] = BuiltifulInstance.AdminToken;

        // A production gateway refuses to start without a region's identity certificate; this one's VMs claim at the silo.
        using var identityKey = RSA.Create(2048);
        using var identity = new CertificateRequest("CN=Test AWS instance identity", identityKey, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1)
            .CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(1));
        settings["Claims:IdentityCertificates:us-east-1"] = identity.ExportCertificatePem();
        var gateway = GatewayHost.Build([.. settings.Select(kv => $"--{kv.Key}={kv.Value}")]);
        await gateway.StartAsync();
        return gateway;
    }

    private static async Task<HttpStatusCode> DeliverAsync(HttpClient http, string @event, string payload)
    {
        using var response = await SendAsync(http, @event, payload);
        return response.StatusCode;
    }

    private static async Task<HttpResponseMessage> SendAsync(HttpClient http, string @event, string payload)
    {
        var body = Encoding.UTF8.GetBytes(payload);
        using var request = new HttpRequestMessage(HttpMethod.Post, "/api/github/webhooks") { Content = new ByteArrayContent(body) };
        request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        request.Headers.Add("X-GitHub-Event", @event);
        request.Headers.Add(WebhookSignature.Header, WebhookSignature.Sign(BuiltifulInstance.WebhookSecret, body));
        return await http.SendAsync(request);
    }
}
