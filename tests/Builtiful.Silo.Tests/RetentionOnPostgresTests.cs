using System.Net;
using Builtiful.Jobs;
using Builtiful.Retention;
using Microsoft.Extensions.DependencyInjection;

namespace Builtiful.Silo.Tests;

/// <summary>Retention on the production storage: encrypted grain state in PostgreSQL, cleared through the cipher.</summary>
[Collection(PostgresCollection.Name)]
public sealed class RetentionOnPostgresTests(PostgresServer postgres)
{
    [Fact]
    public async Task A_refused_job_past_retention_is_gone_from_PostgreSQL_and_a_running_one_is_not()
    {
        await using var cluster = await PostgresCluster.CreateAsync(postgres);
        var settings = cluster.Settings();
        settings["Retention:JobMetadata"] = "1.00:00:00";
        var silo = await cluster.StartSiloAsync(settings);
        var installationId = await PostgresCluster.InstallAsync(silo);
        var refused = Random.Shared.NextInt64(1_000_000, long.MaxValue);
        using (var response = await silo.DeliverAsync("workflow_job", Payloads.WorkflowJob("workflow_job.queued.5.json", refused, installationId, visibility: "public")))
        {
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        }

        var running = await cluster.QueueAsync(silo, installationId);
        using (var started = await silo.DeliverAsync("workflow_job", Payloads.WorkflowJob("workflow_job.in_progress.3.json", running, installationId, runnerName: "GitHub Actions 5")))
        {
            Assert.Equal(HttpStatusCode.OK, started.StatusCode);
        }

        Assert.Equal("public_repository", (await silo.AdminJsonAsync($"/api/v1/jobs/{refused}"))!.Value.GetProperty("rejectionCode").GetString());
        cluster.Clock!.Advance(TimeSpan.FromDays(1) + TimeSpan.FromHours(2));

        var report = await silo.App.Services.GetRequiredService<IGrainFactory>().GetGrain<IRetentionGrain>(installationId).Sweep();

        Assert.Equal(1, report.JobsDeleted);
        Assert.Null(await silo.AdminJsonAsync($"/api/v1/jobs/{refused}"));
        Assert.Equal("in_progress", (await silo.AdminJsonAsync($"/api/v1/jobs/{running}"))!.Value.GetProperty("status").GetString());

        // A restart reads from PostgreSQL only: the refused job stays gone, the running one is still there.
        await cluster.StopAsync(silo);
        var again = await cluster.StartSiloAsync(settings);
        Assert.Null(await again.AdminJsonAsync($"/api/v1/jobs/{refused}"));
        Assert.Equal(JobStatus.InProgress.ToWire(), (await again.AdminJsonAsync($"/api/v1/jobs/{running}"))!.Value.GetProperty("status").GetString());
    }
}
