using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Builtiful.Simulation.GitHub;
using Builtiful.Testing;

namespace Builtiful.Gateway.Tests;

/// <summary>Real payloads, signed like GitHub signs them, through the real gateway over loopback HTTP.</summary>
public sealed class WebhookEndpointTests(WebhookEndpointTests.Host builtiful) : IClassFixture<WebhookEndpointTests.Host>
{
    public sealed class Host : RunningBuiltiful
    {
        // Simulated runners stay idle so these tests see exactly the state their own deliveries made.
        protected override IReadOnlyDictionary<string, string> Settings => new Dictionary<string, string>
        {
            ["Gateway:MaxWebhookBytes"] = "65536",
        };
    }

    private static long NewId() => Random.Shared.NextInt64(1_000_000, long.MaxValue);

    private async Task<long> InstallAsync()
    {
        var installationId = NewId();
        using var response = await builtiful.DeliverAsync("installation", Payloads.Installation("installation.created.1.json", installationId));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return installationId;
    }

    [Fact]
    public async Task A_signed_installation_created_activates_the_organisation_with_its_profile()
    {
        var installationId = await InstallAsync();

        var organisation = (await builtiful.AdminJsonAsync($"/api/v1/organisations/{installationId}"))!.Value;
        Assert.Equal("active", organisation.GetProperty("status").GetString());
        Assert.Equal("Codertocat", organisation.GetProperty("login").GetString());
        Assert.Equal(0, organisation.GetProperty("liveLeases").GetInt32());
        Assert.True(organisation.GetProperty("limits").GetProperty("maxConcurrentVms").GetInt32() > 0);
    }

    [Fact]
    public async Task A_signed_queued_job_with_our_label_is_accepted_and_gets_a_lease()
    {
        var installationId = await InstallAsync();
        // GitHub knows the installation and its repository, so the lease's runner config can be minted and the
        // lease goes on launching instead of failing on an installation GitHub never heard of.
        var repository = $"Codertocat/Hello-World-{installationId}";
        await builtiful.KnowInWorldAsync(installationId, "Codertocat", AccountKind.User, (repository, false));
        var jobId = NewId();

        using var response = await builtiful.DeliverAsync("workflow_job", Payloads.WorkflowJob("workflow_job.queued.5.json", jobId, installationId, repository: repository));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var job = (await builtiful.AdminJsonAsync($"/api/v1/jobs/{jobId}"))!.Value;
        Assert.Equal("queued", job.GetProperty("status").GetString());
        Assert.Equal(repository, job.GetProperty("repository").GetString());
        Assert.Equal("3484a3fb816e0859fd6e1cea078d76385ff50625", job.GetProperty("headSha").GetString());
        Assert.Equal("main", job.GetProperty("branch").GetString());
        Assert.Equal("builtiful-2vcpu-ubuntu-2404", job.GetProperty("machineType").GetString());
        var organisation = (await builtiful.AdminJsonAsync($"/api/v1/organisations/{installationId}"))!.Value;
        var leaseId = organisation.GetProperty("leaseIds")[0].GetString();
        var lease = (await builtiful.AdminJsonAsync($"/api/v1/leases/{leaseId}"))!.Value;
        Assert.Equal(jobId, lease.GetProperty("launchedForJobId").GetInt64());
        Assert.Contains(lease.GetProperty("phase").GetString(), new[] { "launching", "booting" });
    }

    [Fact]
    public async Task A_job_without_a_builtiful_label_is_answered_2xx_and_creates_nothing()
    {
        var jobId = NewId();
        var body = Payloads.WorkflowJob("workflow_job.queued.5.json", jobId, await InstallAsync(), label: "ubuntu-latest");

        using var response = await builtiful.DeliverAsync("workflow_job", body);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Contains("not ours", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        using var job = await builtiful.AdminGetAsync($"/api/v1/jobs/{jobId}");
        Assert.Equal(HttpStatusCode.NotFound, job.StatusCode);
    }

    [Fact]
    public async Task A_builtiful_label_we_do_not_serve_is_recorded_as_rejected_with_its_reason()
    {
        var jobId = NewId();
        var body = Payloads.WorkflowJob("workflow_job.queued.5.json", jobId, await InstallAsync(), label: "builtiful-3vcpu-ubuntu-2404");

        using var response = await builtiful.DeliverAsync("workflow_job", body);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var job = (await builtiful.AdminJsonAsync($"/api/v1/jobs/{jobId}"))!.Value;
        Assert.Contains("builtiful-3vcpu-ubuntu-2404", job.GetProperty("rejectionReason").GetString(), StringComparison.Ordinal);
        Assert.Equal(JsonValueKind.Null, job.GetProperty("leaseId").ValueKind);
    }

    [Fact]
    public async Task A_wrong_signature_is_401_and_changes_nothing()
    {
        var installationId = await InstallAsync();
        var jobId = NewId();
        var body = Payloads.WorkflowJob("workflow_job.queued.5.json", jobId, installationId);
        var forged = Builtiful.GitHub.WebhookSignature.Sign("not-the-secret", Encoding.UTF8.GetBytes(body));

        using var response = await builtiful.DeliverAsync("workflow_job", body, signature: forged);

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        var problem = await response.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal("Bad signature", problem.GetProperty("title").GetString());
        await AssertNothingHappenedAsync(jobId, installationId);
    }

    [Fact]
    public async Task A_missing_signature_is_401_and_changes_nothing()
    {
        var installationId = await InstallAsync();
        var jobId = NewId();

        using var response = await builtiful.DeliverAsync("workflow_job", Payloads.WorkflowJob("workflow_job.queued.5.json", jobId, installationId), sign: false);

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        Assert.Equal("Missing signature", (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("title").GetString());
        await AssertNothingHappenedAsync(jobId, installationId);
    }

    [Fact]
    public async Task A_signature_over_a_different_body_is_401()
    {
        var installationId = await InstallAsync();
        var jobId = NewId();
        var signedBody = Payloads.WorkflowJob("workflow_job.queued.5.json", jobId, installationId);
        var tampered = signedBody.Replace("Codertocat/Hello-World", "Codertocat/Evil-World", StringComparison.Ordinal);

        using var response = await builtiful.DeliverAsync("workflow_job", tampered,
            signature: Builtiful.GitHub.WebhookSignature.Sign(RunningBuiltiful.WebhookSecret, Encoding.UTF8.GetBytes(signedBody)));

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        await AssertNothingHappenedAsync(jobId, installationId);
    }

    [Theory]
    [InlineData("{\"action\": \"queued\", \"workflow_job\": ")]
    [InlineData("not json at all")]
    [InlineData("{\"action\": \"queued\"}")]
    [InlineData("[]")]
    [InlineData("{\"action\": \"queued\", \"workflow_job\": {\"id\": 1, \"name\": \"\\uD800\", \"labels\": [\"builtiful-2vcpu-ubuntu-2404\"]}}")]
    [InlineData("{\"action\": \"queued\", \"workflow_job\": {\"id\": \"1\", \"labels\": [\"builtiful-2vcpu-ubuntu-2404\"]}}")]
    public async Task A_signed_but_malformed_body_is_400_with_a_clear_problem(string body)
    {
        using var response = await builtiful.DeliverAsync("workflow_job", body);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var problem = await response.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal("Malformed payload", problem.GetProperty("title").GetString());
        Assert.False(string.IsNullOrWhiteSpace(problem.GetProperty("detail").GetString()));
    }

    [Theory]
    [InlineData("workflow_run", "workflow_run.completed.0.json")]
    [InlineData("marketplace_purchase", "marketplace_purchase.purchased.0.json")]
    [InlineData("github_app_authorization", "github_app_authorization.revoked.0.json")]
    public async Task An_event_we_do_not_consume_is_2xx_and_ignored(string @event, string fixture)
    {
        using var response = await builtiful.DeliverAsync(@event, Payloads.Read(fixture));

        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        Assert.Contains("ignored", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_oversized_body_is_413_before_it_is_read()
    {
        var body = "{\"padding\": \"" + new string('x', 70_000) + "\"}";

        using var response = await builtiful.DeliverAsync("workflow_job", body);

        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, response.StatusCode);
    }

    [Fact]
    public async Task An_oversized_chunked_body_without_a_length_is_413()
    {
        var bytes = Encoding.UTF8.GetBytes("{\"padding\": \"" + new string('x', 70_000) + "\"}");
        using var request = new HttpRequestMessage(HttpMethod.Post, "/api/github/webhooks")
        {
            Content = new StreamContent(new MemoryStream(bytes)),
        };
        request.Content.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue("application/json");
        request.Headers.TransferEncodingChunked = true;
        request.Headers.Add("X-GitHub-Event", "workflow_job");
        request.Headers.Add(Builtiful.GitHub.WebhookSignature.Header, Builtiful.GitHub.WebhookSignature.Sign(RunningBuiltiful.WebhookSecret, bytes));

        using var response = await builtiful.Http.SendAsync(request);

        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, response.StatusCode);
    }

    [Fact]
    public async Task A_delivery_without_an_event_header_is_400()
    {
        var body = Encoding.UTF8.GetBytes("{}");
        using var request = new HttpRequestMessage(HttpMethod.Post, "/api/github/webhooks") { Content = new ByteArrayContent(body) };
        request.Content.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue("application/json");
        request.Headers.Add(Builtiful.GitHub.WebhookSignature.Header, Builtiful.GitHub.WebhookSignature.Sign(RunningBuiltiful.WebhookSecret, body));

        using var response = await builtiful.Http.SendAsync(request);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
    }

    [Fact]
    public async Task Ping_is_answered()
    {
        using var response = await builtiful.DeliverAsync("ping", Payloads.Read("ping.event.0.json"));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Contains("pong", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Answers_are_the_outcome_as_json_with_every_field_named_once_encoded_or_not()
    {
        // The answers are encoded once per distinct outcome: the first and a repeated delivery get the same bytes, which
        // are exactly the outcome in ASP.NET Core's web JSON (camelCase, a missing action as null), as application/json.
        var installationId = NewId();
        var bodies = new List<string>();
        for (var i = 0; i < 2; i++)
        {
            using var installed = await builtiful.DeliverAsync("installation", Payloads.Installation("installation.created.1.json", installationId));
            Assert.Equal(HttpStatusCode.OK, installed.StatusCode);
            Assert.Equal("application/json; charset=utf-8", installed.Content.Headers.ContentType?.ToString());
            Assert.Equal(installed.Content.Headers.ContentLength, (await installed.Content.ReadAsByteArrayAsync()).Length);
            bodies.Add(await installed.Content.ReadAsStringAsync());
        }

        Assert.Equal("""{"event":"installation","action":"created","outcome":"applied"}""", bodies[0]);
        Assert.Equal(bodies[0], bodies[1]);

        using var ping = await builtiful.DeliverAsync("ping", Payloads.Read("ping.event.0.json"));
        Assert.Equal("""{"event":"ping","action":null,"outcome":"pong"}""", await ping.Content.ReadAsStringAsync());
    }

    public static TheoryData<string> HandledFixtures() =>
        [.. Payloads.All().Where(f => f.Split('.')[0] is "workflow_job" or "installation" or "installation_repositories" or "ping")];

    [Theory]
    [MemberData(nameof(HandledFixtures))]
    public async Task Every_real_payload_of_an_event_we_handle_is_accepted_as_GitHub_sent_it(string fixture)
    {
        using var response = await builtiful.DeliverAsync(fixture.Split('.')[0], Payloads.Read(fixture));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }

    [Fact]
    public async Task Suspend_unsuspend_and_delete_move_the_organisation()
    {
        var installationId = await InstallAsync();

        await Deliver("installation.suspend.5.json");
        Assert.Equal("suspended", await StatusAsync());
        await Deliver("installation.unsuspend.6.json");
        Assert.Equal("active", await StatusAsync());
        await Deliver("installation.deleted.0.json");
        Assert.Equal("deleted", await StatusAsync());
        await Deliver("installation.created.1.json");
        Assert.Equal("deleted", await StatusAsync());

        async Task Deliver(string fixture)
        {
            using var response = await builtiful.DeliverAsync("installation", Payloads.Installation(fixture, installationId));
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        }

        async Task<string?> StatusAsync() =>
            (await builtiful.AdminJsonAsync($"/api/v1/organisations/{installationId}"))!.Value.GetProperty("status").GetString();
    }

    private async Task AssertNothingHappenedAsync(long jobId, long installationId)
    {
        using var job = await builtiful.AdminGetAsync($"/api/v1/jobs/{jobId}");
        Assert.Equal(HttpStatusCode.NotFound, job.StatusCode);
        var organisation = (await builtiful.AdminJsonAsync($"/api/v1/organisations/{installationId}"))!.Value;
        Assert.Equal(0, organisation.GetProperty("liveLeases").GetInt32());
    }
}
