using System.Net;
using System.Text.Json;
using Builtiful.Usage;

namespace Builtiful.Silo.Tests;

/// <summary>Readiness and usage on the production shape: silos on a real PostgreSQL, usage stored sealed like all state.</summary>
[Collection(PostgresCollection.Name)]
public sealed class PostgresOperationsTests(PostgresServer postgres)
{
    [Fact]
    public async Task Readiness_checks_the_database_and_usage_survives_a_cluster_restart()
    {
        await using var cluster = await PostgresCluster.CreateAsync(postgres);
        var silo = await cluster.StartSiloAsync();

        using (var ready = await silo.AdminGetAsync("/readyz", token: null))
        {
            var checks = JsonDocument.Parse(await ready.Content.ReadAsStringAsync()).RootElement.GetProperty("checks");
            Assert.Equal(HttpStatusCode.OK, ready.StatusCode);
            Assert.Equal("PostgreSQL answers", checks.GetProperty("database").GetProperty("detail").GetString());
            Assert.Equal("healthy", checks.GetProperty("cluster").GetProperty("status").GetString());
        }

        var installationId = await PostgresCluster.InstallAsync(silo);
        var jobId = await cluster.QueueAsync(silo, installationId);
        var leaseId = await PostgresCluster.LeaseOfAsync(silo, installationId, jobId);
        var runner = "builtiful-" + leaseId.Replace("-", "", StringComparison.Ordinal);
        var started = DateTimeOffset.UtcNow.AddMinutes(-3);
        foreach (var (fixture, completedAt) in new[] { ("workflow_job.in_progress.0.json", (DateTimeOffset?)null), ("workflow_job.completed.1.json", started.AddSeconds(130)) })
        {
            using var delivered = await silo.DeliverAsync("workflow_job",
                OperatorRequests.TimedJob(fixture, jobId, installationId, "builtiful-2vcpu-ubuntu-2404", runner, startedAt: started, completedAt: completedAt));
            Assert.Equal(HttpStatusCode.OK, delivered.StatusCode);
        }

        await cluster.StopAsync(silo);
        var after = await cluster.StartSiloAsync();

        var usage = await after.JsonAsync($"/api/v1/organisations/{installationId}/usage?month={UsageMonth.Of(started.AddSeconds(130))}");
        Assert.Equal(3, usage.GetProperty("minutes").GetProperty("builtiful-2vcpu-ubuntu-2404").GetInt64());
        var listed = await after.JsonAsync("/api/v1/organisations?limit=200");
        Assert.Contains(listed.GetProperty("items").EnumerateArray(), o => o.GetProperty("installationId").GetInt64() == installationId);
    }
}
