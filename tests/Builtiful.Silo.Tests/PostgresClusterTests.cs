using System.Net;
using Builtiful.Providers;
using Npgsql;

namespace Builtiful.Silo.Tests;

/// <summary>Builtiful as production runs it: silos sharing one PostgreSQL for membership, state and reminders.</summary>
[Collection(PostgresCollection.Name)]
public sealed class PostgresClusterTests(PostgresServer postgres)
{
    [Fact]
    public async Task When_the_silo_holding_live_leases_dies_their_organisations_reminder_fires_on_the_survivors_and_the_VMs_still_go()
    {
        await using var cluster = await PostgresCluster.CreateAsync(postgres);
        var first = await cluster.StartSiloAsync();
        var installationId = await PostgresCluster.InstallAsync(first);
        var jobs = new[] { await cluster.QueueAsync(first, installationId), await cluster.QueueAsync(first, installationId) };
        var leases = new List<string>();
        foreach (var jobId in jobs)
        {
            var leaseId = await PostgresCluster.LeaseOfAsync(first, installationId, jobId);
            await PostgresCluster.LeaseReachesAsync(first, leaseId, "booting");
            leases.Add(leaseId);
        }

        // The leases were activated on the only silo there was; two more join, then that silo dies without a goodbye.
        var second = await cluster.StartSiloAsync();
        await cluster.StartSiloAsync();
        await cluster.KillAsync(first);
        cluster.Clock!.Advance(TimeSpan.FromMinutes(11));

        foreach (var leaseId in leases)
        {
            // A booting lease has not written its order yet: a survivor's organisation orders it again, and the repaired
            // lease finds its VM by its tag and ends it at the first order's boot deadline.
            var lease = await PostgresCluster.LeaseReachesAsync(second, leaseId, "terminated", TimeSpan.FromSeconds(90));
            Assert.Contains("boot deadline", lease.GetProperty("endReason").GetString(), StringComparison.Ordinal);
            Assert.Equal(InstanceState.Terminated, await cluster.Cloud.DescribeAsync(lease.GetProperty("instanceId").GetString()!, default));
        }
    }

    [Fact]
    public async Task A_whole_cluster_restart_keeps_organisations_jobs_leases_the_waiting_line_and_reminders()
    {
        await using var cluster = await PostgresCluster.CreateAsync(postgres);
        var before = await cluster.StartSiloAsync();
        var installationId = await PostgresCluster.InstallAsync(before);
        var busyJob = await cluster.QueueAsync(before, installationId);
        var idleJob = await cluster.QueueAsync(before, installationId);
        var waitingJob = await cluster.QueueAsync(before, installationId);
        var busyLease = await PostgresCluster.LeaseOfAsync(before, installationId, busyJob);
        var idleLease = await PostgresCluster.LeaseOfAsync(before, installationId, idleJob);
        await PostgresCluster.LeaseReachesAsync(before, busyLease, "booting");
        await PostgresCluster.LeaseReachesAsync(before, idleLease, "booting");
        using (var started = await before.DeliverAsync("workflow_job", Payloads.WorkflowJob("workflow_job.in_progress.3.json", busyJob, installationId, runnerName: "builtiful-" + busyLease.Replace("-", "", StringComparison.Ordinal))))
        {
            Assert.Equal(HttpStatusCode.OK, started.StatusCode);
        }

        await cluster.StopAsync(before);
        var after = await cluster.StartSiloAsync();

        var organisation = (await after.AdminJsonAsync($"/api/v1/organisations/{installationId}"))!.Value;
        Assert.Equal("active", organisation.GetProperty("status").GetString());
        Assert.Equal(2, organisation.GetProperty("liveLeases").GetInt32());
        Assert.Equal(waitingJob, Assert.Single(organisation.GetProperty("waitingJobIds").EnumerateArray()).GetInt64());
        var job = (await after.AdminJsonAsync($"/api/v1/jobs/{busyJob}"))!.Value;
        Assert.Equal("in_progress", job.GetProperty("status").GetString());
        Assert.Equal("3484a3fb816e0859fd6e1cea078d76385ff50625", job.GetProperty("headSha").GetString());
        Assert.Equal(busyLease, job.GetProperty("leaseId").GetString());
        Assert.Equal("busy", (await after.AdminJsonAsync($"/api/v1/leases/{busyLease}"))!.Value.GetProperty("phase").GetString());
        // One reminder for the organisation's two live leases; leases hold none of their own.
        Assert.Equal(1, await ReminderRowsAsync(cluster.ConnectionString, "leases"));
        Assert.Equal(0, await ReminderRowsAsync(cluster.ConnectionString, "deadlines"));

        // The reminder survived: the idle lease's boot deadline ends it, and its still-queued job, first in line
        // again, gets a new VM in the freed slot while the waiting job keeps its place.
        cluster.Clock!.Advance(TimeSpan.FromMinutes(11));
        await PostgresCluster.LeaseReachesAsync(after, idleLease, "terminated");
        var reprovisioned = await Eventually.Until(
            async () => (await after.AdminJsonAsync($"/api/v1/organisations/{installationId}"))!.Value,
            o => o.GetProperty("liveLeases").GetInt32() == 2 && !o.GetProperty("leaseIds").EnumerateArray().Any(l => l.GetString() == idleLease),
            "the idle lease's job gets a new VM");
        Assert.Equal(waitingJob, Assert.Single(reprovisioned.GetProperty("waitingJobIds").EnumerateArray()).GetInt64());
        Assert.Equal(idleJob, (await PostgresCluster.LeaseOfAsync(after, installationId, idleJob)) is { } newLease
            ? (await after.AdminJsonAsync($"/api/v1/leases/{newLease}"))!.Value.GetProperty("launchedForJobId").GetInt64()
            : 0);
        Assert.Equal("busy", (await after.AdminJsonAsync($"/api/v1/leases/{busyLease}"))!.Value.GetProperty("phase").GetString());
    }

    [Fact]
    public async Task PostgreSQL_restarting_while_jobs_flow_loses_no_delivery_that_was_answered_2xx()
    {
        await using var cluster = await PostgresCluster.CreateAsync(postgres, fakeClock: false);
        var settings = cluster.Settings();
        settings["Organisations:MaxConcurrentVms"] = "50";
        settings["Logging:LogLevel:Builtiful"] = "Information";
        var silo = await cluster.StartSiloAsync(settings);
        var installationId = await PostgresCluster.InstallAsync(silo);

        var accepted = new List<long>();
        var refused = new List<long>();
        Task? restart = null;
        for (var i = 0; i < 40; i++)
        {
            if (i == 10)
            {
                restart = postgres.RestartAsync();
            }

            var jobId = Random.Shared.NextInt64(1_000_000, long.MaxValue);
            using var response = await silo.DeliverAsync("workflow_job", Payloads.WorkflowJob("workflow_job.queued.5.json", jobId, installationId, repository: $"org-{installationId}/app"));
            (response.IsSuccessStatusCode ? accepted : refused).Add(jobId);
        }

        await restart!;

        // Every delivery answered 2xx is there, with its metadata: nothing accepted was lost with the database.
        foreach (var jobId in accepted)
        {
            var job = await silo.AdminJsonAsync($"/api/v1/jobs/{jobId}");
            Assert.True(job is not null, $"accepted job {jobId} was lost{Environment.NewLine}{await DescribeAsync(silo, installationId)}");
            Assert.Equal("3484a3fb816e0859fd6e1cea078d76385ff50625", job!.Value.GetProperty("headSha").GetString());
        }

        // GitHub's redelivery of the refused ones (an operator's, or Builtiful's own recovery) finds them not half-applied.
        foreach (var jobId in refused)
        {
            using var redelivered = await silo.DeliverAsync("workflow_job", Payloads.WorkflowJob("workflow_job.queued.5.json", jobId, installationId, repository: $"org-{installationId}/app"));
            Assert.True(redelivered.IsSuccessStatusCode, $"redelivery of job {jobId} answered {redelivered.StatusCode}");
            Assert.NotNull(await silo.AdminJsonAsync($"/api/v1/jobs/{jobId}"));
        }

        Assert.NotEmpty(accepted);
    }

    /// <summary>The organisation and its leases as the admin API shows them, so a failure explains itself.</summary>
    private static async Task<string> DescribeAsync(BuiltifulInstance silo, long installationId)
    {
        var organisation = (await silo.AdminJsonAsync($"/api/v1/organisations/{installationId}"))!.Value;
        var text = new System.Text.StringBuilder().AppendLine(organisation.ToString());
        foreach (var lease in organisation.GetProperty("leaseIds").EnumerateArray())
        {
            text.AppendLine((await silo.AdminJsonAsync($"/api/v1/leases/{lease.GetString()}"))?.ToString() ?? $"lease {lease} unknown");
        }

        return text.ToString();
    }

    private static async Task<long> ReminderRowsAsync(string connectionString, string name)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync();
        await using var count = new NpgsqlCommand("SELECT count(*) FROM OrleansRemindersTable WHERE ReminderName = @name", connection);
        count.Parameters.AddWithValue("name", name);
        return (long)(await count.ExecuteScalarAsync())!;
    }
}
