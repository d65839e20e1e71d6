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
