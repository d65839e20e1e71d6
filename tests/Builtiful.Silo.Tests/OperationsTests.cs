using System.Net;
using System.Text.Json;
using Builtiful.Gateway.Admin;
using Builtiful.Gateway.Audit;
using Builtiful.Usage;
using Microsoft.Extensions.DependencyInjection;

namespace Builtiful.Silo.Tests;

/// <summary>
/// Issue 9 end to end on the all-in-one: a job that ran is billed and measured, operators list and act through the
/// admin API (actions need the operator role and are audited), and /metrics and /readyz serve the orchestrator.
/// </summary>
public sealed class OperationsTests(OperationsTests.Host host) : IClassFixture<OperationsTests.Host>
{
    public const string Label = "builtiful-2vcpu-ubuntu-2404";
    public const string ViewerToken = "test-viewer-token-5e21";

    public sealed class Host : IAsyncLifetime
    {
        public BuiltifulInstance Builtiful { get; private set; } = null!;

        public async Task InitializeAsync() => Builtiful = await BuiltifulInstance.StartAsync(new Dictionary<string, string>
        {
            ["Simulation:BootDelay"] = "00:00:00.200",
            ["Simulation:GitHub:DefaultRunTime"] = "00:00:00.300",
            ["Admin:Tokens:0:Name"] = "viewer",
            ["Admin:Tokens:0:Sha256"] = OperatorDirectory.Digest(ViewerToken),
            ["Admin:Tokens:0:Role"] = OperatorRoles.ReadOnly,

            // The production hosts' layout: metrics and readiness on a management listener of their own.
            ["Management:Port"] = "0",
            ["Management:Address"] = "127.0.0.1",
        });

        public Task DisposeAsync() => Builtiful.StopAsync();
    }

    private BuiltifulInstance Builtiful => host.Builtiful;

    private HttpClient Management() => new() { BaseAddress = Builtiful.App.Services.GetRequiredService<ManagementServer>().Addresses[0] };

    [Fact]
    public async Task A_job_that_ran_is_billed_measured_and_listed()
    {
        var installationId = await Builtiful.InstallAsync();
        var jobId = await Builtiful.QueueInWorldAsync(installationId, Label);

        var job = await Builtiful.UntilAsync($"/api/v1/jobs/{jobId}", j => j.GetProperty("status").GetString() == "completed", "the job is completed");
        Assert.InRange(job.GetProperty("queueSeconds").GetDouble(), 0, 3600);
        Assert.True(job.GetProperty("durationSeconds").GetDouble() >= 0);
        Assert.Equal(1, job.GetProperty("billableMinutes").GetInt64());

        // The job's view answers alongside the completed delivery it is applying, so billing may land just after it.
        var usage = await Builtiful.UntilAsync($"/api/v1/organisations/{installationId}/usage", u => u.GetProperty("jobs").GetInt32() > 0, "the job is billed");
        Assert.Equal(UsageMonth.Of(DateTimeOffset.UtcNow), usage.GetProperty("month").GetString());
        Assert.Equal(installationId, usage.GetProperty("installationId").GetInt64());
        Assert.Equal(1, usage.GetProperty("minutes").GetProperty(Label).GetInt64());
        Assert.Equal(1, usage.GetProperty("jobs").GetInt32());
        Assert.Equal(JsonValueKind.Number, usage.GetProperty("queueTimeP50Seconds").ValueKind);

        using var csv = await Builtiful.SendAsync(HttpMethod.Get, $"/api/v1/organisations/{installationId}/usage", accept: "text/csv");
        Assert.Equal("text/csv", csv.Content.Headers.ContentType?.MediaType);
        Assert.Equal(
            $"month,installation_id,machine_type,jobs,minutes\n{UsageMonth.Of(DateTimeOffset.UtcNow)},{installationId},{Label},1,1\n",
            await csv.Content.ReadAsStringAsync());

        var completed = await Builtiful.JsonAsync($"/api/v1/organisations/{installationId}/jobs?status=completed");
        Assert.Equal(jobId, Assert.Single(completed.GetProperty("items").EnumerateArray()).GetProperty("id").GetInt64());

        var leaseId = job.GetProperty("leaseId").GetGuid();
        var ended = await Builtiful.UntilAsync($"/api/v1/leases?phase=terminated&installationId={installationId}",
            l => l.GetProperty("total").GetInt32() == 1, "the ended lease is listed");
        Assert.Equal(leaseId, ended.GetProperty("items")[0].GetProperty("id").GetGuid());

        var organisations = await Builtiful.JsonAsync("/api/v1/organisations?status=active&limit=200");
        Assert.Contains(organisations.GetProperty("items").EnumerateArray(), o => o.GetProperty("installationId").GetInt64() == installationId);

        using var again = await Builtiful.SendAsync(HttpMethod.Post, $"/api/v1/leases/{leaseId}/terminate");
        Assert.Equal(HttpStatusCode.Conflict, again.StatusCode);
    }

    [Fact]
    public async Task Metrics_serve_builtiful_series_after_a_job()
    {
        var installationId = await Builtiful.InstallAsync();
        await Builtiful.QueueInWorldAsync(installationId, Label);

        await Builtiful.UntilAsync($"/api/v1/organisations/{installationId}/usage", u => u.GetProperty("jobs").GetInt32() == 1, "the job is billed");

        using var management = Management();
        var metrics = await Eventually.Until(
            async () =>
            {
                using var response = await management.GetAsync("/metrics");
                Assert.Equal(HttpStatusCode.OK, response.StatusCode);
                return await response.Content.ReadAsStringAsync();
            },
            text => text.Contains("builtiful_usage_billable_minutes_total", StringComparison.Ordinal),
            "the job's series are exported");
        Assert.Contains("builtiful_job_queue_time_seconds_bucket{", metrics, StringComparison.Ordinal);
        Assert.Contains("builtiful_lease_launch_latency_seconds_bucket{", metrics, StringComparison.Ordinal);
        Assert.Contains("builtiful_leases{", metrics, StringComparison.Ordinal);
        Assert.Contains("phase=\"busy\"", metrics, StringComparison.Ordinal);
        Assert.Matches("builtiful_webhook_deliveries_total\\{[^}]*event=\"workflow_job\"[^}]*outcome=\"applied\"[^}]*\\} [1-9]", metrics);
        Assert.DoesNotContain(metrics.Split('\n'), line => line.Length > 0 && !line.StartsWith('#') && !line.StartsWith("builtiful_", StringComparison.Ordinal)
            && !line.StartsWith("target_info", StringComparison.Ordinal));

        // Per-installation figures are the admin API's: no label names installations (event="installation" is a delivery kind).
        Assert.DoesNotMatch("[{,]installation[a-z_]*=", metrics);
        Assert.DoesNotContain(installationId.ToString(System.Globalization.CultureInfo.InvariantCulture), metrics, StringComparison.Ordinal);
        Assert.Matches("builtiful_github_rate_limit_remaining\\{[^}]*budget=\"installation\"", metrics);
        using var onPublic = await Builtiful.AdminGetAsync("/metrics", token: null);
        Assert.Equal(HttpStatusCode.NotFound, onPublic.StatusCode);
    }

    [Fact]
    public async Task Readiness_answers_on_the_management_listener_once_the_cluster_is_up()
    {
        using var onPublic = await Builtiful.AdminGetAsync("/readyz", token: null);
        Assert.Equal(HttpStatusCode.NotFound, onPublic.StatusCode);
        using var management = Management();
        using var response = await management.GetAsync("/readyz");
        var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement;

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("healthy", body.GetProperty("status").GetString());
        Assert.Equal("healthy", body.GetProperty("checks").GetProperty("cluster").GetProperty("status").GetString());
        Assert.Equal("healthy", body.GetProperty("checks").GetProperty("database").GetProperty("status").GetString());
    }

    [Fact]
    public async Task An_operator_suspension_refuses_new_jobs_until_resumed_and_is_audited()
    {
        var installationId = await Builtiful.InstallAsync();
        using (var suspended = await Builtiful.SendAsync(HttpMethod.Post, $"/api/v1/organisations/{installationId}/suspend", new { reason = "invoice 42 unpaid" }))
        {
            Assert.Equal(HttpStatusCode.OK, suspended.StatusCode);
        }

        var held = Random.Shared.NextInt64(1_000_000, long.MaxValue);
        using (var queued = await Builtiful.DeliverAsync("workflow_job", Payloads.WorkflowJob("workflow_job.queued.5.json", held, installationId, Label)))
        {
            Assert.Equal(HttpStatusCode.OK, queued.StatusCode);
        }

        var refused = await Builtiful.JsonAsync($"/api/v1/jobs/{held}");
        Assert.Contains("suspended by an operator: invoice 42 unpaid", refused.GetProperty("rejectionReason").GetString(), StringComparison.Ordinal);
        var listed = await Builtiful.JsonAsync("/api/v1/organisations?limit=200");
        var entry = listed.GetProperty("items").EnumerateArray().Single(o => o.GetProperty("installationId").GetInt64() == installationId);
        Assert.True(entry.GetProperty("suspendedByOperator").GetBoolean());
        Assert.Equal("active", entry.GetProperty("status").GetString());

        using (var resumed = await Builtiful.SendAsync(HttpMethod.Post, $"/api/v1/organisations/{installationId}/resume"))
        {
            Assert.Equal(HttpStatusCode.OK, resumed.StatusCode);
        }

        var runs = await Builtiful.QueueInWorldAsync(installationId, Label);

        await Builtiful.UntilAsync($"/api/v1/jobs/{runs}", j => j.GetProperty("status").GetString() == "completed", "the job after resuming runs");
        var audit = Builtiful.App.Services.GetRequiredService<IAuditLog>().Recent
            .Where(e => e.Targets.TryGetValue("installationId", out var id) && id == installationId.ToString(System.Globalization.CultureInfo.InvariantCulture))
            .ToList();
        Assert.Equal(["POST /api/v1/organisations/{installationId:long}/suspend", "POST /api/v1/organisations/{installationId:long}/resume"],
            audit.Select(e => $"{e.Method} {e.Route}"));
        Assert.All(audit, e => Assert.Equal(AuditOutcomes.Succeeded, e.Outcome));
    }

    [Fact]
    public async Task Limits_change_for_a_known_installation_and_are_validated()
    {
        var installationId = await Builtiful.InstallAsync();

        using var changed = await Builtiful.SendAsync(HttpMethod.Put, $"/api/v1/organisations/{installationId}/limits",
            new { maxConcurrentVms = 3, allowedMachineTypes = new[] { Label }, maxJobLifetime = "02:00:00" });
        using var invalid = await Builtiful.SendAsync(HttpMethod.Put, $"/api/v1/organisations/{installationId}/limits", new { maxConcurrentVms = -1, allowedMachineTypes = new[] { "ubuntu-latest" } });
        using var unknown = await Builtiful.SendAsync(HttpMethod.Put, "/api/v1/organisations/424242/limits", new { maxConcurrentVms = 3 });

        Assert.Equal(HttpStatusCode.OK, changed.StatusCode);
        var limits = (await Builtiful.JsonAsync($"/api/v1/organisations/{installationId}")).GetProperty("limits");
        Assert.Equal(3, limits.GetProperty("maxConcurrentVms").GetInt32());
        Assert.Equal(Label, Assert.Single(limits.GetProperty("allowedMachineTypes").EnumerateArray()).GetString());
        Assert.Equal("02:00:00", limits.GetProperty("maxJobLifetime").GetString());
        Assert.Equal(HttpStatusCode.BadRequest, invalid.StatusCode);
        Assert.Contains("maxConcurrentVms", await invalid.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.NotFound, unknown.StatusCode);
    }

    [Fact]
    public async Task A_read_only_token_lists_but_every_action_is_forbidden()
    {
        var installationId = await Builtiful.InstallAsync();

        using var list = await Builtiful.SendAsync(HttpMethod.Get, "/api/v1/organisations", token: ViewerToken);
        using var usage = await Builtiful.SendAsync(HttpMethod.Get, $"/api/v1/organisations/{installationId}/usage", token: ViewerToken);
        using var suspend = await Builtiful.SendAsync(HttpMethod.Post, $"/api/v1/organisations/{installationId}/suspend", token: ViewerToken);
        using var limits = await Builtiful.SendAsync(HttpMethod.Put, $"/api/v1/organisations/{installationId}/limits", new { maxConcurrentVms = 1 }, token: ViewerToken);
        using var terminate = await Builtiful.SendAsync(HttpMethod.Post, $"/api/v1/leases/{Guid.NewGuid()}/terminate", token: ViewerToken);
        using var sweep = await Builtiful.SendAsync(HttpMethod.Post, "/api/v1/reconciliation/sweep", token: ViewerToken);
        using var anonymous = await Builtiful.SendAsync(HttpMethod.Get, "/api/v1/leases", token: null);

        Assert.Equal(HttpStatusCode.OK, list.StatusCode);
        Assert.Equal(HttpStatusCode.OK, usage.StatusCode);
        Assert.All(new[] { suspend, limits, terminate, sweep }, r => Assert.Equal(HttpStatusCode.Forbidden, r.StatusCode));
        Assert.Equal(HttpStatusCode.Unauthorized, anonymous.StatusCode);
        Assert.Null((await Builtiful.JsonAsync("/api/v1/organisations?limit=200")).GetProperty("items").EnumerateArray()
            .Single(o => o.GetProperty("installationId").GetInt64() == installationId).GetProperty("suspensionReason").GetString());
    }

    [Fact]
    public async Task Pages_walk_every_organisation_once()
    {
        long[] ours = [await Builtiful.InstallAsync(), await Builtiful.InstallAsync(), await Builtiful.InstallAsync()];

        var seen = new List<long>();
        int? offset = 0;
        while (offset is { } next)
        {
            var page = await Builtiful.JsonAsync($"/api/v1/organisations?offset={next}&limit=2");
            Assert.InRange(page.GetProperty("items").GetArrayLength(), 1, 2);
            seen.AddRange(page.GetProperty("items").EnumerateArray().Select(o => o.GetProperty("installationId").GetInt64()));
            offset = page.GetProperty("nextOffset").ValueKind == JsonValueKind.Number ? page.GetProperty("nextOffset").GetInt32() : null;
        }

        Assert.Equal(seen.Count, seen.Distinct().Count());
        Assert.Subset(seen.ToHashSet(), ours.ToHashSet());
        using var bad = await Builtiful.SendAsync(HttpMethod.Get, "/api/v1/organisations?limit=500");
        Assert.Equal(HttpStatusCode.BadRequest, bad.StatusCode);
    }

    [Fact]
    public async Task A_sweep_reports_what_the_reconciler_did()
    {
        using var response = await Builtiful.SendAsync(HttpMethod.Post, "/api/v1/reconciliation/sweep");
        var report = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement;

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("Simulated", report.GetProperty("provider").GetString());
        Assert.True(report.GetProperty("instancesExamined").GetInt32() >= 0);
        Assert.Equal(JsonValueKind.Array, report.GetProperty("newSuspects").ValueKind);
        Assert.True(report.GetProperty("instancesLive").GetInt32() >= report.GetProperty("instancesExamined").GetInt32());
    }
}
