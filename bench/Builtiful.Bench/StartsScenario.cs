using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Json;
using System.Text.Json;
using System.Text.Json.Nodes;
using Builtiful.Bench.Hosting;
using Builtiful.Bench.Load;
using Builtiful.Testing;

namespace Builtiful.Bench;

/// <summary>
/// Queue-to-start (issue 18): the embedded host with its simulated GitHub and cloud, VMs booting on the realistic
/// distributions (Simulation:Boot). Jobs are queued in the simulated GitHub, which delivers their webhooks; a job's
/// queue-to-start is GitHub's own record: from its queued time to the moment a runner took it (in_progress). Two hosts run
/// side by side, one without a pool (cold) and one with a pool sized for the steady rate; each takes a steady rate, then a
/// burst of 100. The world's clock is the real one, so every figure is in real seconds.
/// </summary>
public static class StartsScenario
{
    public const string Label = "builtiful-4vcpu-ubuntu-2404";
    private const string PoolName = "bench";
    private static readonly JsonSerializerOptions Web = new(JsonSerializerDefaults.Web);

    public static async Task<JsonObject> RunAsync(HostBuild build, bool quick, JsonObject results)
    {
        var rate = 1.0;
        var steadyJobs = quick ? 30 : 120;
        const int burst = 100;
        // Little's law: a pool refills at cold-start speed, so at `rate` jobs/s it needs rate x a cold start's p95 (about
        // 35 s with the realistic boots) idle VMs to absorb the steady rate; rounded up.
        var minIdle = (int)Math.Ceiling(rate * 40);
        var cold = RunHostAsync(build, "cold", pool: null, rate, steadyJobs, burst);
        var pool = RunHostAsync(build, "pool", minIdle, rate, steadyJobs, burst);
        await Task.WhenAll(cold.ContinueWith(_ => { }, TaskScheduler.Default), pool.ContinueWith(_ => { }, TaskScheduler.Default));
        var c = await cold;
        // A pool host that does not start (its Pools settings refused, say) costs the pool figures only, not the cold ones.
        HostRun? p = pool.IsCompletedSuccessfully ? await pool : null;
        var poolError = pool.Exception?.GetBaseException() is { } ex ? $"{ex.GetType().Name}: {ex.Message}" : null;

        results["cold_queue_to_start_p50_s"] = c.Steady.P50;
        results["cold_queue_to_start_p95_s"] = c.Steady.P95;
        results["cold_queue_to_start_burst100_p50_s"] = c.Burst.P50;
        results["cold_queue_to_start_burst100_p95_s"] = c.Burst.P95;
        // A pool figure is written only when the host says its pool served jobs; otherwise it would be a cold figure.
        var poolSteadyMeasured = p?.Steady.PoolHits is > 0;
        var poolBurstMeasured = p?.Burst.PoolHits is > 0;
        results["pool_queue_to_start_p50_s"] = poolSteadyMeasured ? p!.Steady.P50 : null;
        results["pool_queue_to_start_p95_s"] = poolSteadyMeasured ? p!.Steady.P95 : null;
        results["pool_queue_to_start_burst100_p50_s"] = poolBurstMeasured ? p!.Burst.P50 : null;
        results["pool_queue_to_start_burst100_p95_s"] = poolBurstMeasured ? p!.Burst.P95 : null;
        results["pool_hits"] = p is null || (p.Steady.PoolHits is null && p.Burst.PoolHits is null) ? null : (p.Steady.PoolHits ?? 0) + (p.Burst.PoolHits ?? 0);

        return new JsonObject
        {
            ["method"] = "Two embedded hosts side by side (simulated GitHub and cloud in each, real clock), VMs on Simulation:Boot:Realistic. "
                + $"Each: 3 warm-up jobs, then {steadyJobs} jobs at {rate.ToString(CultureInfo.InvariantCulture)}/s, then a burst of {burst} queued at once, "
                + "each phase waited out until every job started. Queue-to-start = the simulated GitHub's started_at - queued_at per job.",
            ["label"] = Label,
            ["boot_stages"] = "Simulation:Boot defaults (log-normal, median/p95): launch 10 s/20 s, OS boot to claim 7 s/15 s, claim to runner online 3 s/7 s",
            ["pool_settings"] = $"Pools:{PoolName}:MachineType={Label}, MinIdle={minIdle}, MaxIdle={minIdle}, IdleLifetime=00:30:00",
            ["pool_figures_written"] = poolSteadyMeasured || poolBurstMeasured
                ? "yes: the pool host reported pool hits"
                : p is null
                    ? "no: the pool host failed (pool_error), so pool_* are null"
                    : "no: the pool host reported no pool hits (no pool metric, or no hit), so its figures are cold ones and pool_* are null",
            ["cold"] = c.ToJson(),
            ["pool"] = p?.ToJson(),
            ["pool_error"] = poolError,
        };
    }

    private static async Task<HostRun> RunHostAsync(HostBuild build, string name, int? pool, double rate, int steadyJobs, int burst)
    {
        var extra = new Dictionary<string, string>
        {
            [BenchHost.WorldKey] = "simulated",
            ["Simulation:Boot:Realistic"] = "true",
            ["Simulation:Boot:Seed"] = pool is null ? "18" : "19",
            ["Simulation:GitHub:DefaultRunTime"] = "00:00:02",
        };
        if (pool is { } idle)
        {
            extra[$"Pools:{PoolName}:MachineType"] = Label;
            extra[$"Pools:{PoolName}:MinIdle"] = idle.ToString(CultureInfo.InvariantCulture);
            extra[$"Pools:{PoolName}:MaxIdle"] = idle.ToString(CultureInfo.InvariantCulture);
            extra[$"Pools:{PoolName}:IdleLifetime"] = "00:30:00";
        }

        await using var host = await HostProcess.StartAsync(build, Scenarios.HostSettings(extra: extra), TimeSpan.FromMinutes(2));
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(30) };
        var world = await World.ConnectAsync(http, host.BaseAddress);
        await world.InstallAsync();

        // Warm-up (unmeasured): the host's first jobs compile its paths; the pool fills meanwhile.
        await world.WaitStartedAsync(await world.QueueAsync(3, TimeSpan.Zero), TimeSpan.FromSeconds(120));
        var poolMetrics = await PoolMetrics.ReadAsync(http, host.BaseAddress);
        var filledIn = pool is { } min ? await PoolMetrics.WaitIdleAsync(http, host.BaseAddress, min, TimeSpan.FromSeconds(90)) : null;

        var steady = await world.PhaseAsync(http, host.BaseAddress, steadyJobs, TimeSpan.FromSeconds(1 / rate));
        var refilledIn = pool is { } again ? await PoolMetrics.WaitIdleAsync(http, host.BaseAddress, again, TimeSpan.FromSeconds(60)) : null;
        var burstPhase = await world.PhaseAsync(http, host.BaseAddress, burst, TimeSpan.Zero);
        if (steady.Started < steady.Jobs || burstPhase.Started < burstPhase.Jobs)
        {
            // Figures of jobs that never started would be silently missing: say so, with what the host said last.
            await Console.Error.WriteLineAsync(
                $"starts ({name}): only {steady.Started} of {steady.Jobs} steady and {burstPhase.Started} of {burstPhase.Jobs} burst jobs started; the host's last lines:\n{host.LastLines}");
        }

        return new HostRun(name, steady, burstPhase, poolMetrics.Names, filledIn, refilledIn, host.LogLines);
    }

    private sealed record HostRun(string Name, Phase Steady, Phase Burst, IReadOnlyList<string> PoolMetricNames, double? PoolFilledInSeconds, double? PoolRefilledInSeconds, int HostLogLines)
    {
        public JsonObject ToJson() => new()
        {
            ["steady"] = Steady.ToJson(),
            ["burst100"] = Burst.ToJson(),
            ["pool_metrics_found"] = new JsonArray([.. PoolMetricNames.Select(n => (JsonNode)n)]),
            ["pool_idle_reached_after_warmup_s"] = PoolFilledInSeconds,
            ["pool_idle_reached_before_burst_s"] = PoolRefilledInSeconds,
            ["host_log_lines"] = HostLogLines,
        };
    }

    private sealed record Phase(int Jobs, int Started, double? P50, double? P95, double? Max, double? Min, double? PoolHits, double QueuedOverSeconds, double WaitedSeconds)
    {
        public JsonObject ToJson() => new()
        {
            ["jobs"] = Jobs,
            ["started"] = Started,
            ["queue_to_start_s"] = new JsonObject { ["p50"] = P50, ["p95"] = P95, ["min"] = Min, ["max"] = Max },
            ["pool_hits"] = PoolHits,
            ["queued_over_s"] = Scenarios.R(QueuedOverSeconds, 1),
            ["waited_until_all_started_s"] = Scenarios.R(WaitedSeconds, 1),
        };
    }

    /// <summary>The simulated GitHub of one host, spoken to over its REST "UI" as a person or workflow would.</summary>
    private sealed class World(HttpClient http, Uri api)
    {
        private readonly long _installation = Random.Shared.NextInt64(10_000_000, 900_000_000);
        private string Repository => $"starts-{_installation}/app";

        public static async Task<World> ConnectAsync(HttpClient http, Uri host)
        {
            var world = await http.GetFromJsonAsync<JsonElement>(new Uri(host, "/__bench/world"));
            var api = world.GetProperty("apiUrl").GetString() ?? throw new InvalidOperationException("The bench host runs no simulated GitHub (Bench:World=simulated).");
            return new World(http, new Uri(api));
        }

        public async Task InstallAsync()
        {
            await PostAsync("/simulation/installations", new { id = _installation, login = $"starts-{_installation}", type = "Organization" });
            await PostAsync("/simulation/repositories", new { installationId = _installation, fullName = Repository });
            // The host must know the installation before jobs come, or they are parked until it does.
            await Eventually.Until(
                () => http.GetFromJsonAsync<JsonElement[]>(new Uri(api, "/simulation/deliveries"), Web)!,
                deliveries => deliveries!.Any(d => d.GetProperty("event").GetString() == "installation" && d.GetProperty("statusCode").GetInt32() is >= 200 and < 300),
                "the host acknowledged installation.created", TimeSpan.FromSeconds(60));
        }

        /// <summary>Queues <paramref name="count"/> jobs, one every <paramref name="interval"/> (zero: all at once).</summary>
        public async Task<List<long>> QueueAsync(int count, TimeSpan interval)
        {
            var clock = Stopwatch.StartNew();
            if (interval == TimeSpan.Zero)
            {
                var all = await Task.WhenAll(Enumerable.Range(0, count).Select(_ => QueueOneAsync()));
                return [.. all];
            }

            var ids = new List<long>(count);
            for (var i = 0; i < count; i++)
            {
                var due = interval * i - clock.Elapsed;
                if (due > TimeSpan.Zero)
                {
                    await Task.Delay(due);
                }

                ids.Add(await QueueOneAsync());
            }

            return ids;
        }

        public async Task<Phase> PhaseAsync(HttpClient client, Uri host, int count, TimeSpan interval)
        {
            var hitsBefore = (await PoolMetrics.ReadAsync(client, host)).Hits;
            var clock = Stopwatch.StartNew();
            var ids = await QueueAsync(count, interval);
            var queuedOver = clock.Elapsed.TotalSeconds;
            var jobs = await WaitStartedAsync(ids, TimeSpan.FromSeconds(150));
            var waited = clock.Elapsed.TotalSeconds;
            var hitsAfter = (await PoolMetrics.ReadAsync(client, host)).Hits;
            var seconds = jobs.Where(j => j.StartedAt is not null && j.QueuedAt is not null)
                .Select(j => (j.StartedAt!.Value - j.QueuedAt!.Value).TotalSeconds).Order().ToArray();
            return new Phase(count, seconds.Length, Percentile(seconds, 0.50), Percentile(seconds, 0.95), seconds.Length > 0 ? Scenarios.R(seconds[^1], 2) : null,
                seconds.Length > 0 ? Scenarios.R(seconds[0], 2) : null, hitsBefore is null || hitsAfter is null ? null : hitsAfter - hitsBefore, queuedOver, waited);
        }

        /// <summary>Until every job has started (or the bound passes): GitHub's records of them.</summary>
        public async Task<IReadOnlyList<JobView>> WaitStartedAsync(IReadOnlyCollection<long> ids, TimeSpan bound)
        {
            var wanted = ids.ToHashSet();
            var clock = Stopwatch.StartNew();
            while (true)
            {
                var jobs = (await http.GetFromJsonAsync<JobView[]>(new Uri(api, "/simulation/jobs"), Web))!.Where(j => wanted.Contains(j.Id)).ToList();
                if ((jobs.Count == wanted.Count && jobs.All(j => j.StartedAt is not null)) || clock.Elapsed > bound)
                {
                    return jobs;
                }

                await Task.Delay(500);
            }
        }

        private async Task<long> QueueOneAsync()
        {
            using var response = await http.PostAsJsonAsync(new Uri(api, "/simulation/jobs"), new { repository = Repository, labels = new[] { Label } });
            response.EnsureSuccessStatusCode();
            return (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetInt64();
        }

        private async Task PostAsync(string path, object body)
        {
            using var response = await http.PostAsJsonAsync(new Uri(api, path), body);
            response.EnsureSuccessStatusCode();
        }
    }

    private sealed record JobView(long Id, DateTimeOffset? QueuedAt, DateTimeOffset? StartedAt);

    /// <summary>
    /// What the host's /metrics says of its pools: hits = <c>builtiful_pool_takes_total{result="hit"}</c>, idle =
    /// <c>builtiful_pool_idle_vms</c>, each summed over pools. Null when the host exports no such series.
    /// </summary>
    private sealed record PoolMetrics(double? Hits, double? Idle, IReadOnlyList<string> Names)
    {
        private const string Takes = "builtiful_pool_takes_total";
        private const string IdleVms = "builtiful_pool_idle_vms";

        public static async Task<PoolMetrics> ReadAsync(HttpClient http, Uri host)
        {
            var text = await http.GetStringAsync(new Uri(host, "/metrics"));
            double? hits = null;
            double? idle = null;
            var names = new SortedSet<string>(StringComparer.Ordinal);
            foreach (var line in text.Split('\n'))
            {
                if (line.Length == 0 || line[0] == '#')
                {
                    continue;
                }

                var nameEnd = line.IndexOfAny(['{', ' ']);
                var name = nameEnd < 0 ? line : line[..nameEnd];
                var brace = line.LastIndexOf('}');
                var labels = brace > nameEnd ? line[nameEnd..(brace + 1)] : "";
                var rest = line[(brace >= 0 ? brace + 1 : nameEnd)..].Trim().Split(' ');
                if (!double.TryParse(rest[0], NumberStyles.Float, CultureInfo.InvariantCulture, out var value))
                {
                    continue;
                }

                if (name == Takes && labels.Contains("result=\"hit\"", StringComparison.Ordinal))
                {
                    hits = (hits ?? 0) + value;
                    names.Add(name);
                }
                else if (name == IdleVms)
                {
                    idle = (idle ?? 0) + value;
                    names.Add(name);
                }
            }

            return new PoolMetrics(hits, idle, [.. names]);
        }

        /// <summary>Seconds until the pool's idle VMs reach <paramref name="target"/>; null when no idle gauge is exported or the bound passed.</summary>
        public static async Task<double?> WaitIdleAsync(HttpClient http, Uri host, int target, TimeSpan bound)
        {
            var clock = Stopwatch.StartNew();
            while (clock.Elapsed < bound)
            {
                var metrics = await ReadAsync(http, host);
                if (metrics.Idle is null)
                {
                    return null;
                }

                if (metrics.Idle >= target)
                {
                    return Scenarios.R(clock.Elapsed.TotalSeconds, 1);
                }

                await Task.Delay(500);
            }

            return null;
        }
    }

    private static double? Percentile(double[] sorted, double q) =>
        sorted.Length == 0 ? null : Scenarios.R(sorted[Math.Clamp((int)Math.Ceiling(q * sorted.Length) - 1, 0, sorted.Length - 1)], 2);
}
