using System.Net;
using System.Security.Cryptography;
using System.Text.Json.Nodes;

namespace Builtiful.Silo.Tests;

/// <summary>
/// The all-in-one in GitHub App mode, started with the README's settings and pointed at a local fake of GitHub's
/// REST API that verifies every JWT with the App's public key.
/// </summary>
public sealed class GitHubAppModeTests : IAsyncLifetime
{
    private readonly RSA _key = RSA.Create(2048);
    private readonly string _keyPath = Path.Combine(Path.GetTempPath(), $"builtiful-app-{Guid.NewGuid():N}.pem");
    private GitHubFake _gitHub = null!;
    private BuiltifulInstance _builtiful = null!;

    public async Task InitializeAsync()
    {
        await File.WriteAllTextAsync(_keyPath, _key.ExportPkcs8PrivateKeyPem());
        _gitHub = await GitHubFake.StartAsync(_key, TimeProvider.System);
        _builtiful = await BuiltifulInstance.StartAsync(new Dictionary<string, string>
        {
            ["GitHub:Mode"] = "App",
            ["GitHub:ApiUrl"] = _gitHub.ApiUrl.ToString(),
            ["GitHub:AppId"] = GitHubFake.AppId.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["GitHub:PrivateKeyPath"] = _keyPath,
            ["Simulation:BootDelay"] = "00:00:00.100",
        });
    }

    public async Task DisposeAsync()
    {
        await _builtiful.StopAsync();
        await _gitHub.DisposeAsync();
        File.Delete(_keyPath);
        _key.Dispose();
    }

    [Fact]
    public async Task Three_queued_jobs_cost_one_token_exchange_and_three_JIT_requests_with_name_group_and_label()
    {
        var installationId = await InstallOrganisationAsync("acme-" + Guid.NewGuid().ToString("N")[..6]);

        var jobs = new List<long>();
        for (var i = 0; i < 3; i++)
        {
            var jobId = Random.Shared.NextInt64(1_000_000, long.MaxValue);
            using var queued = await _builtiful.DeliverAsync("workflow_job", Payloads.WorkflowJob("workflow_job.queued.5.json", jobId, installationId));
            Assert.Equal(HttpStatusCode.OK, queued.StatusCode);
            jobs.Add(jobId);
        }

        var jit = await Eventually.Until(() => Task.FromResult(_gitHub.Seen("POST", "/generate-jitconfig$")), r => r.Count == 3, "three JIT configs are requested");
        var exchanges = _gitHub.Seen("POST", "^/app/installations/[0-9]+/access_tokens$");
        var exchange = Assert.Single(exchanges);
        Assert.Equal($"/app/installations/{installationId}/access_tokens", exchange.Path);
        var jwt = AppJwt.Parse(exchange.Bearer, _key)!;
        Assert.True(jwt.SignatureValid);
        Assert.Equal("RS256", jwt.Algorithm);
        Assert.Equal(GitHubFake.AppId, jwt.Issuer);
        Assert.InRange(jwt.ExpiresAt - jwt.IssuedAt, 60, 660);
        foreach (var request in jit)
        {
            // On the job's repository (the recorded delivery's), not on the organisation: only admitted jobs reach the runner.
            Assert.Equal("/repos/Codertocat/Hello-World/actions/runners/generate-jitconfig", request.Path);
            var body = request.Json;
            Assert.Matches("^builtiful-[0-9a-f]{32}$", body.GetProperty("name").GetString());
            Assert.Equal(1, body.GetProperty("runner_group_id").GetInt64());
            Assert.Contains("builtiful-2vcpu-ubuntu-2404", body.GetProperty("labels").EnumerateArray().Select(l => l.GetString()));
        }

        foreach (var jobId in jobs)
        {
            var job = (await _builtiful.AdminJsonAsync($"/api/v1/jobs/{jobId}"))!.Value;
            var lease = (await _builtiful.AdminJsonAsync($"/api/v1/organisations/{installationId}"))!.Value;
            Assert.Equal("queued", job.GetProperty("status").GetString());
            Assert.Equal(3, lease.GetProperty("liveLeases").GetInt32());
        }
    }

    [Fact]
    public async Task GitHub_refusing_the_runner_fails_the_lease_with_its_reason_and_no_retry_storm()
    {
        var installationId = await InstallOrganisationAsync("refused-" + Guid.NewGuid().ToString("N")[..6]);
        _gitHub.Once("POST", "/generate-jitconfig$", FakeReply.Error(403, "Resource not accessible by integration"));
        var jobId = Random.Shared.NextInt64(1_000_000, long.MaxValue);

        using (var queued = await _builtiful.DeliverAsync("workflow_job", Payloads.WorkflowJob("workflow_job.queued.5.json", jobId, installationId)))
        {
            Assert.Equal(HttpStatusCode.OK, queued.StatusCode);
        }

        var leaseId = (await _builtiful.AdminJsonAsync($"/api/v1/organisations/{installationId}"))!.Value.GetProperty("leaseIds")[0].GetString();
        var lease = await Eventually.Until(
            async () => (await _builtiful.AdminJsonAsync($"/api/v1/leases/{leaseId}"))!.Value,
            l => l.GetProperty("phase").GetString() == "failed",
            "the lease fails");
        Assert.Contains("403", lease.GetProperty("endReason").GetString(), StringComparison.Ordinal);
        Assert.Contains("Resource not accessible by integration", lease.GetProperty("endReason").GetString(), StringComparison.Ordinal);
        Assert.Single(_gitHub.Seen("POST", "/generate-jitconfig$"));
        await Eventually.Until(
            async () => (await _builtiful.AdminJsonAsync($"/api/v1/organisations/{installationId}"))!.Value.GetProperty("liveLeases").GetInt32(),
            live => live == 0,
            "the failed lease frees its slot");
    }

    [Fact]
    public async Task Deleting_the_installation_while_VMs_run_terminates_them()
    {
        var installationId = await InstallOrganisationAsync("gone-" + Guid.NewGuid().ToString("N")[..6]);
        var jobId = Random.Shared.NextInt64(1_000_000, long.MaxValue);
        using (var queued = await _builtiful.DeliverAsync("workflow_job", Payloads.WorkflowJob("workflow_job.queued.5.json", jobId, installationId)))
        {
            Assert.Equal(HttpStatusCode.OK, queued.StatusCode);
        }

        var leaseId = (await _builtiful.AdminJsonAsync($"/api/v1/organisations/{installationId}"))!.Value.GetProperty("leaseIds")[0].GetString();
        await Eventually.Until(
            async () => (await _builtiful.AdminJsonAsync($"/api/v1/leases/{leaseId}"))!.Value.GetProperty("phase").GetString(),
            phase => phase is "booting" or "idle",
            "the VM is up");

        using (var deleted = await _builtiful.DeliverAsync("installation", Payloads.Installation("installation.deleted.0.json", installationId)))
        {
            Assert.Equal(HttpStatusCode.OK, deleted.StatusCode);
        }

        var lease = await Eventually.Until(
            async () => (await _builtiful.AdminJsonAsync($"/api/v1/leases/{leaseId}"))!.Value,
            l => l.GetProperty("phase").GetString() == "terminated",
            "the VM is terminated");
        Assert.Equal("the installation was deleted", lease.GetProperty("endReason").GetString());
    }

    private async Task<long> InstallOrganisationAsync(string login)
    {
        var installationId = Random.Shared.NextInt64(1_000_000, long.MaxValue);
        var payload = JsonNode.Parse(Payloads.Installation("installation.created.1.json", installationId))!;
        payload["installation"]!["account"]!["login"] = login;
        payload["installation"]!["account"]!["type"] = "Organization";
        using var response = await _builtiful.DeliverAsync("installation", payload.ToJsonString());
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return installationId;
    }
}
