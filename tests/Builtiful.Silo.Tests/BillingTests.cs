using System.Net;
using Builtiful.Usage;

namespace Builtiful.Silo.Tests;

/// <summary>
/// Billing with instants the test chooses: simulated VMs boot but their runners stay idle, so the test plays GitHub and
/// sends in_progress and completed itself, naming the runner on our VM.
/// </summary>
public sealed class BillingTests(BillingTests.Host host) : IClassFixture<BillingTests.Host>
{
    private const string Label = "builtiful-4vcpu-ubuntu-2404";

    public sealed class Host : IAsyncLifetime
    {
        public BuiltifulInstance Builtiful { get; private set; } = null!;

        public async Task InitializeAsync() => Builtiful = await BuiltifulInstance.StartAsync(new Dictionary<string, string>
        {
            ["Simulation:BootDelay"] = "00:00:00.100",
            // A booting VM is seen running on the lease's next check.
            ["Leases:CheckPeriod"] = "00:00:01",
        });

        public Task DisposeAsync() => Builtiful.StopAsync();
    }

    private BuiltifulInstance Builtiful => host.Builtiful;

    [Fact]
    public async Task A_job_is_billed_once_in_whole_minutes_rounded_up_on_its_machine_type()
    {
        var installationId = await Builtiful.InstallAsync();
        var started = DateTimeOffset.UtcNow.AddMinutes(-2);
        var completed = started.AddSeconds(61);
        var (jobId, runner) = await QueueAsync(installationId, started.AddSeconds(-45));

        await DeliverAsync(OperatorRequests.TimedJob("workflow_job.in_progress.0.json", jobId, installationId, Label, runner, startedAt: started));
        var completion = OperatorRequests.TimedJob("workflow_job.completed.1.json", jobId, installationId, Label, runner, startedAt: started, completedAt: completed);
        await DeliverAsync(completion);
        await DeliverAsync(completion);

        var month = UsageMonth.Of(completed);
        var usage = await Builtiful.JsonAsync($"/api/v1/organisations/{installationId}/usage?month={month}");
        Assert.Equal(month, usage.GetProperty("month").GetString());
        Assert.Equal(2, usage.GetProperty("minutes").GetProperty(Label).GetInt64());
        Assert.Equal(1, usage.GetProperty("jobs").GetInt32());
        Assert.Equal(45, usage.GetProperty("queueTimeP50Seconds").GetDouble());
        Assert.Equal(61, usage.GetProperty("durationAverageSeconds").GetDouble());
        var job = await Builtiful.JsonAsync($"/api/v1/jobs/{jobId}");
        Assert.Equal(45, job.GetProperty("queueSeconds").GetDouble());
        Assert.Equal(61, job.GetProperty("durationSeconds").GetDouble());
        Assert.Equal(2, job.GetProperty("billableMinutes").GetInt64());
    }

    [Fact]
    public async Task A_job_that_ran_on_a_runner_that_is_not_ours_is_not_billed()
    {
        var installationId = await Builtiful.InstallAsync();
        var started = DateTimeOffset.UtcNow.AddMinutes(-3);
        var (jobId, _) = await QueueAsync(installationId, started.AddSeconds(-10));

        await DeliverAsync(OperatorRequests.TimedJob("workflow_job.in_progress.0.json", jobId, installationId, Label, "GitHub Actions 7", startedAt: started));
        await DeliverAsync(OperatorRequests.TimedJob("workflow_job.completed.1.json", jobId, installationId, Label, "GitHub Actions 7", startedAt: started, completedAt: started.AddMinutes(2)));

        Assert.Equal("completed", (await Builtiful.JsonAsync($"/api/v1/jobs/{jobId}")).GetProperty("status").GetString());
        var usage = await Builtiful.JsonAsync($"/api/v1/organisations/{installationId}/usage?month={UsageMonth.Of(started.AddMinutes(2))}");
        Assert.Equal(0, usage.GetProperty("jobs").GetInt32());
        Assert.Empty(usage.GetProperty("minutes").EnumerateObject());
    }

    [Fact]
    public async Task Usage_is_kept_when_the_installation_is_deleted()
    {
        var installationId = await Builtiful.InstallAsync();
        var started = DateTimeOffset.UtcNow.AddMinutes(-10);
        var (jobId, runner) = await QueueAsync(installationId, started);
        await DeliverAsync(OperatorRequests.TimedJob("workflow_job.in_progress.0.json", jobId, installationId, Label, runner, startedAt: started));
        await DeliverAsync(OperatorRequests.TimedJob("workflow_job.completed.1.json", jobId, installationId, Label, runner, startedAt: started, completedAt: started.AddMinutes(5)));

        using (var deleted = await Builtiful.DeliverAsync("installation", Payloads.Installation("installation.deleted.0.json", installationId)))
        {
            Assert.Equal(HttpStatusCode.OK, deleted.StatusCode);
        }

        Assert.Equal("deleted", (await Builtiful.JsonAsync($"/api/v1/organisations/{installationId}")).GetProperty("status").GetString());
        var usage = await Builtiful.JsonAsync($"/api/v1/organisations/{installationId}/usage?month={UsageMonth.Of(started.AddMinutes(5))}");
        Assert.Equal(5, usage.GetProperty("minutes").GetProperty(Label).GetInt64());
    }

    [Fact]
    public async Task An_operator_terminates_an_idle_lease_listed_by_its_phase()
    {
        var installationId = await Builtiful.InstallAsync();
        await QueueAsync(installationId, DateTimeOffset.UtcNow);
        var leaseId = (await Builtiful.JsonAsync($"/api/v1/organisations/{installationId}")).GetProperty("leaseIds")[0].GetGuid();
        var idle = await Builtiful.UntilAsync($"/api/v1/leases?phase=idle&installationId={installationId}",
            l => l.GetProperty("total").GetInt32() == 1, "the VM is up with its runner idle");
        Assert.Equal(leaseId, idle.GetProperty("items")[0].GetProperty("id").GetGuid());

        using var terminated = await Builtiful.SendAsync(HttpMethod.Post, $"/api/v1/leases/{leaseId}/terminate", new { reason = "stuck VM" });
        using var unknown = await Builtiful.SendAsync(HttpMethod.Post, $"/api/v1/leases/{Guid.NewGuid()}/terminate");

        Assert.Equal(HttpStatusCode.Accepted, terminated.StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, unknown.StatusCode);
        var lease = await Builtiful.UntilAsync($"/api/v1/leases/{leaseId}", l => l.GetProperty("phase").GetString() == "terminated", "the VM is gone");
        Assert.Equal("terminated by an operator: stuck VM", lease.GetProperty("endReason").GetString());
    }

    /// <summary>Queues a job and waits for the VM the organisation started for it; returns the runner name on that VM.</summary>
    private async Task<(long JobId, string Runner)> QueueAsync(long installationId, DateTimeOffset createdAt)
    {
        var jobId = Random.Shared.NextInt64(1_000_000, long.MaxValue);
        await DeliverAsync(OperatorRequests.TimedJob("workflow_job.queued.5.json", jobId, installationId, Label, createdAt: createdAt));
        var organisation = await Builtiful.UntilAsync($"/api/v1/organisations/{installationId}", o => o.GetProperty("liveLeases").GetInt32() == 1, "a VM is started");
        var lease = await Builtiful.JsonAsync($"/api/v1/leases/{organisation.GetProperty("leaseIds")[0].GetGuid()}");
        return (jobId, lease.GetProperty("runnerName").GetString()!);
    }

    private async Task DeliverAsync(string body)
    {
        var action = System.Text.Json.JsonDocument.Parse(body).RootElement.GetProperty("action").GetString();
        using var response = await Builtiful.DeliverAsync("workflow_job", body);
        Assert.True(response.StatusCode == HttpStatusCode.OK, $"{action}: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
    }
}
