using System.Net;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Builtiful.Simulation.GitHub;
using Builtiful.Testing;

namespace Builtiful.Silo.Tests;

/// <summary>
/// The README's walk-through, as a test: the all-in-one host on embedded defaults, driven only over HTTP.
/// Jobs are queued in the simulated GitHub world, which sends the webhooks and runs each on the runner Builtiful minted.
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
        var (installationId, repository) = await builtiful.InstallOrganisationAsync();
        var jobId = await builtiful.World.QueueJobAsync(new JobSpec { Repository = repository, Labels = ["builtiful-2vcpu-ubuntu-2404"] });

        var job = await Eventually.Until(
            async () => (await builtiful.AdminJsonAsync($"/api/v1/jobs/{jobId}"))?.Clone(),
            j => j?.GetProperty("status").GetString() == "completed",
            "the job is completed");
        Assert.Equal("success", job!.Value.GetProperty("conclusion").GetString());
        Assert.NotEqual(JsonValueKind.Null, job.Value.GetProperty("startedAt").ValueKind);
        Assert.Equal("success", (await builtiful.JobCompletes(jobId)).Conclusion);

        var leaseId = job.Value.GetProperty("leaseId").GetString();
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
        var (installationId, repository) = await builtiful.InstallOrganisationAsync();
        var jobs = new List<long>();
        for (var i = 0; i < 30; i++)
        {
            jobs.Add(await builtiful.World.QueueJobAsync(new JobSpec { Repository = repository, Labels = ["builtiful-2vcpu-ubuntu-2404"] }));
        }

        foreach (var jobId in jobs)
        {
            Assert.Equal("success", (await builtiful.JobCompletes(jobId)).Conclusion);
            await Eventually.Until(
                async () => (await builtiful.AdminJsonAsync($"/api/v1/jobs/{jobId}"))?.GetProperty("status").GetString(),
                s => s == "completed",
                $"job {jobId} is completed");
        }

        await Eventually.Until(
            async () => (await builtiful.AdminJsonAsync($"/api/v1/organisations/{installationId}"))!.Value,
            o => o.GetProperty("liveLeases").GetInt32() == 0 && o.GetProperty("waitingJobs").GetInt32() == 0,
            "every VM is gone and nobody waits");
        Assert.All(builtiful.World.Jobs.Where(j => jobs.Contains(j.Id)), j => Assert.StartsWith("builtiful-", j.RunnerName, StringComparison.Ordinal));
    }
}
