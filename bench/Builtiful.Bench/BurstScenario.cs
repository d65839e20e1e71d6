using System.Diagnostics;
using System.Globalization;
using System.Text.Json.Nodes;
using Builtiful.Bench.Load;

namespace Builtiful.Bench;

/// <summary>
/// A burst into one installation that already holds <c>leases</c> live leases, all booting and never started (its limit,
/// so every further job waits in line): the host's CPU per queued delivery, which must not grow with the live leases.
/// One host per size, each warmed on the same path before its measured window.
/// </summary>
public static class BurstScenario
{
    /// <summary>
    /// Issue 19's burst: <paramref name="jobs"/> queued jobs into one new installation (no limit reached: every one launches)
    /// as fast as the host takes them, then their runs, on an already warm host (<paramref name="session"/>) after an
    /// unmeasured burst of <paramref name="warmJobs"/> on the same path. Every delivery of the measured burst and the host's
    /// CPU until the last VM is terminated; on PostgreSQL also its CPU and the grain-state rows written per job's life.
    /// </summary>
    public static async Task<JsonObject> JobsAsync(HostSession session, Deliveries deliveries, int connections, int jobs, int warmJobs)
    {
        await using var driver = new LoadDriver(session.Host, deliveries, connections, installations: 1);
        await driver.InstallAsync();
        var warm = await driver.BurstAsync(warmJobs, TimeSpan.FromSeconds(120));
        var writesBefore = await PgWrites.SettledAsync(session.ConnectionString);
        var activityBefore = await PgActivity.ReadAsync(session.ConnectionString);
        var cpu = new CpuMeter(session.Host, session.Postmaster);
        await cpu.StartAsync();
        var run = await driver.BurstAsync(jobs, TimeSpan.FromSeconds(300));
        var used = await cpu.StopAsync();
        var writesAfter = await PgWrites.SettledAsync(session.ConnectionString);
        var activityAfter = await PgActivity.ReadAsync(session.ConnectionString);
        session.JobsCompleted += warm.Terminated + run.Terminated;
        var answered = run.Window.Answered;
        var seconds = run.Elapsed.TotalSeconds;
        return new JsonObject
        {
            ["jobs"] = jobs,
            ["installations"] = 1,
            ["deliveries_answered"] = answered,
            ["failed_or_not_applied"] = run.Window.Failed,
            ["launched"] = run.Launched,
            ["claim_failures"] = run.ClaimFailures,
            ["terminated"] = run.Terminated,
            ["seconds_until_last_terminated"] = Scenarios.R(seconds, 2),
            ["deliveries_per_s"] = Scenarios.R(answered / seconds, 0),
            ["queued_part_s"] = run.QueuedIn is { } q ? Scenarios.R(q.TotalSeconds, 2) : null,
            ["queued_deliveries_per_s"] = run.QueuedIn is { } queuedIn ? Scenarios.R(jobs / queuedIn.TotalSeconds, 0) : null,
            ["host_cpu_us_per_delivery"] = answered > 0 ? Scenarios.R(used.HostMs * 1000 / answered, 1) : null,
            ["postgres_cpu_us_per_delivery"] = answered > 0 && used.PostgresMs is { } pg ? Scenarios.R(pg * 1000 / answered, 1) : null,
            // Every grain-state write while the 2,000 jobs lived, the organisation's included, over the jobs.
            ["storage_writes_per_job"] = writesBefore is not null && writesAfter is not null && run.Terminated > 0
                ? Scenarios.R((double)(writesAfter.Storage - writesBefore.Storage) / run.Terminated, 2) : null,
            ["storage_writes_per_job_by_grain_type"] = writesBefore is not null && writesAfter is not null && run.Terminated > 0
                ? PgWrites.PerJob(writesBefore, writesAfter, run.Terminated) : null,
            ["postgres_per_job"] = activityBefore is not null && activityAfter is not null ? Scenarios.DatabaseJson(activityAfter - activityBefore, run.Terminated) : null,
            ["latency_ms"] = Scenarios.Latency(run.Window.Latency),
            ["latency_ms_by_stage"] = Scenarios.ByStage(run.Window),
            ["cpu"] = Scenarios.CpuJson(used),
            ["warm_jobs"] = warmJobs,
            ["warm_seconds"] = Scenarios.R(warm.Elapsed.TotalSeconds, 2),
            ["connections"] = connections,
        };
    }

    public static async Task<JsonObject> RunAsync(HostBuild build, Deliveries deliveries, int connections, int leases, int queued)
    {
        var settings = Scenarios.HostSettings(extra: new Dictionary<string, string>
        {
            ["Leases:BootDeadline"] = "02:00:00",
            ["Organisations:MaxConcurrentVms"] = leases.ToString(CultureInfo.InvariantCulture),
        });
        await using var host = await HostProcess.StartAsync(build, settings, TimeSpan.FromMinutes(2));
        await using var driver = new LoadDriver(host, deliveries, connections, installations: 1);
        await driver.InstallAsync();
        var fill = await driver.FillAsync(leases, leases, TimeSpan.FromSeconds(180));

        // Unmeasured: the same deliveries (they wait in line) until the host's JIT has compiled this path.
        await driver.FillAsync(queued / 2, 0, TimeSpan.FromSeconds(180));
        var before = await host.StatsAsync();
        var clock = Stopwatch.StartNew();
        await driver.FillAsync(queued, 0, TimeSpan.FromSeconds(300));
        var seconds = clock.Elapsed.TotalSeconds;
        var after = await host.StatsAsync();
        return new JsonObject
        {
            ["live_leases"] = leases,
            ["launched"] = after.Launches,
            ["queued_deliveries_measured"] = queued,
            ["host_cpu_us_per_queued_delivery"] = Scenarios.R((after.CpuMs - before.CpuMs) * 1000 / queued, 1),
            ["queued_deliveries_per_s"] = Scenarios.R(queued / seconds, 0),
            ["fill_seconds"] = Scenarios.R(fill.TotalSeconds, 2),
            ["connections"] = connections,
        };
    }
}
