using System.Net;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Builtiful.Testing;

namespace Builtiful.Silo.Tests;

/// <summary>
/// The README's walk-through, as a test: the all-in-one host on embedded defaults, driven only over HTTP.
/// The simulated runner plays GitHub and reports in_progress and completed back through the gateway.
/// </summary>
public sealed class AllInOneTests(AllInOneTests.Host builtiful) : IClassFixture<AllInOneTests.Host>
{
    public sealed class Host : RunningBuiltiful
    {
        protected override IReadOnlyDictionary<string, string> Settings => new Dictionary<string, string>
        {
            ["Simulation:BootDelay"] = "00:00:00.200",
            ["Simulation:GitHub:DefaultRunTime"] = "00:00:00.300",
        };
    }

    [Fact]
    public void Without_a_database_grain_state_is_kept_by_the_embedded_storage_in_this_process()
    {
        var storage = builtiful.Services.GetRequiredKeyedService<Orleans.Storage.IGrainStorage>(StorageNames.Grains);
        Assert.IsType<Storage.EmbeddedGrainStorage>(storage);
        Assert.True(((Storage.EmbeddedGrainStorage)storage).Count > 0, "the host's own grains have stored state by now");
    }

    [Fact]
    public async Task A_queued_job_runs_on_its_own_VM_which_is_then_destroyed()
    {
        var installationId = Random.Shared.NextInt64(1_000_000, long.MaxValue);
        var jobId = Random.Shared.NextInt64(1_000_000, long.MaxValue);
        using (var installed = await builtiful.DeliverAsync("installation", Payloads.Installation("installation.created.1.json", installationId)))
        {
            Assert.Equal(HttpStatusCode.OK, installed.StatusCode);
        }

        using (var queued = await builtiful.DeliverAsync("workflow_job", Payloads.WorkflowJob("workflow_job.queued.5.json", jobId, installationId)))
        {
            Assert.Equal(HttpStatusCode.OK, queued.StatusCode);
        }

        var job = await Eventually.Until(
            async () => (await builtiful.AdminJsonAsync($"/api/v1/jobs/{jobId}"))!.Value,
            j => j.GetProperty("status").GetString() == "completed",
            "the job is completed");
        Assert.Equal("success", job.GetProperty("conclusion").GetString());
        Assert.Equal("3484a3fb816e0859fd6e1cea078d76385ff50625", job.GetProperty("headSha").GetString());
        Assert.NotEqual(JsonValueKind.Null, job.GetProperty("startedAt").ValueKind);

        var leaseId = job.GetProperty("leaseId").GetString();
        var lease = await Eventually.Until(
            async () => (await builtiful.AdminJsonAsync($"/api/v1/leases/{leaseId}"))!.Value,
            l => l.GetProperty("phase").GetString() == "terminated",
            "the lease is terminated");
        Assert.Equal(jobId, lease.GetProperty("jobId").GetInt64());
        Assert.Equal(jobId, lease.GetProperty("launchedForJobId").GetInt64());
        Assert.StartsWith("sim-", lease.GetProperty("instanceId").GetString(), StringComparison.Ordinal);
        Assert.Equal($"job {jobId} completed", lease.GetProperty("endReason").GetString());

        var organisation = await Eventually.Until(
            async () => (await builtiful.AdminJsonAsync($"/api/v1/organisations/{installationId}"))!.Value,
            o => o.GetProperty("liveLeases").GetInt32() == 0,
            "the organisation's slot is free");
        Assert.Equal("active", organisation.GetProperty("status").GetString());
    }

    [Fact]
    public async Task Many_jobs_of_one_organisation_all_complete_and_leave_no_VM_behind()
    {
        var installationId = Random.Shared.NextInt64(1_000_000, long.MaxValue);
        using (var installed = await builtiful.DeliverAsync("installation", Payloads.Installation("installation.created.1.json", installationId)))
        {
            Assert.Equal(HttpStatusCode.OK, installed.StatusCode);
        }

        long[] jobs = [.. Enumerable.Range(0, 30).Select(_ => Random.Shared.NextInt64(1_000_000, long.MaxValue))];
        foreach (var jobId in jobs)
        {
            using var queued = await builtiful.DeliverAsync("workflow_job", Payloads.WorkflowJob("workflow_job.queued.5.json", jobId, installationId));
            Assert.Equal(HttpStatusCode.OK, queued.StatusCode);
        }

        foreach (var jobId in jobs)
        {
            await Eventually.Until(
                async () => (await builtiful.AdminJsonAsync($"/api/v1/jobs/{jobId}"))!.Value.GetProperty("status").GetString(),
                s => s == "completed",
                $"job {jobId} is completed");
        }

        await Eventually.Until(
            async () => (await builtiful.AdminJsonAsync($"/api/v1/organisations/{installationId}"))!.Value,
            o => o.GetProperty("liveLeases").GetInt32() == 0 && o.GetProperty("waitingJobs").GetInt32() == 0,
            "every VM is gone and nobody waits");
    }
}
