using System.Diagnostics;
using System.Globalization;
using System.Security.Cryptography;
using System.Text.Json.Nodes;
using Builtiful.Bench.Load;
using Builtiful.Testing;

namespace Builtiful.Bench;

/// <summary>Run lengths and load shape; --quick shortens the windows, never the method.</summary>
public sealed record BenchOptions
{
    public bool Quick { get; init; }
    /// <summary>
    /// The ingest loop's concurrency. With 16 the loop was bound by its own latency and left ~10 % of the machine idle
    /// (88.9 % busy); 32 fill it but queue long enough to take p99 past 20 ms; 24 keep the host busy (94–98 %).
    /// </summary>
    public int Connections { get; init; } = 24;
    public int Installations { get; init; } = 50;
    public int LiveJobs { get; init; } = 512;
    public double DecisionRate { get; init; } = 200;
    public int Leases { get; init; } = 10_000;
    public HashSet<string> Only { get; init; } = [];

    /// <summary>--host=r2r|jit: run the host from a ReadyToRun publish (as production does) or from the JIT-only build output.</summary>
    public bool? HostReadyToRunOption { get; init; }

    /// <summary>
    /// ReadyToRun by default in the full run; --quick starts the build output, because with dynamic PGO on (the runtime's
    /// default, and production's) hot ReadyToRun code is compiled again (instrumented, then tier 1), so ReadyToRun did not
    /// shorten the JIT's warm-up under load (26.6 s of JIT against 24.4 s), while its first publish costs about 40 s of
    /// CPU that --quick's 3 minutes do not have. The steady state both reach is the same tier-1 code.
    /// </summary>
    public bool HostReadyToRun => HostReadyToRunOption ?? !Quick;

    /// <summary>Seconds to keep the host alive after the memory fill, so a profiler (dotnet-gcdump) can attach.</summary>
    public int HoldSeconds { get; init; }

    /// <summary>Seconds to keep the host alive before the memory fill: the heap then holds what completed jobs left.</summary>
    public int HoldBeforeFillSeconds { get; init; }

    /// <summary>--allocations: sample the host's allocations by type during the memory fill and report the largest.</summary>
    public bool AllocationSamples { get; init; }
    public string? Output { get; init; }

    public TimeSpan? WarmupOverride { get; init; }
    public TimeSpan? MeasureOverride { get; init; }

    public TimeSpan IngestWarmup => WarmupOverride ?? (Quick ? TimeSpan.FromSeconds(6) : TimeSpan.FromSeconds(20));
    public TimeSpan IngestMeasure => MeasureOverride ?? (Quick ? TimeSpan.FromSeconds(5) : TimeSpan.FromSeconds(30));

    /// <summary>
    /// The JIT settles after 20-40 s of full load on 2 cores (18-20 s with --quick's call-counting setting: 16 s was
    /// measured too short, with 392 ms/s of JIT left in the window); --quick stops waiting earlier, and says so in the JSON.
    /// </summary>
    public TimeSpan IngestMaxWarmup(bool postgres) => WarmupOverride is { } w ? w * 3
        : Quick ? TimeSpan.FromSeconds(postgres ? 10 : 20)
        : TimeSpan.FromSeconds(90);
    public TimeSpan LifecycleWarmup => Quick ? TimeSpan.FromSeconds(2) : TimeSpan.FromSeconds(10);

    /// <summary>
    /// The decision run warms up at its rate for at least <see cref="LifecycleWarmup"/>, then until the JIT has settled,
    /// at most this long, as the ingest run does; its JSON says whether it settled and gives its per-second timeline.
    /// </summary>
    public TimeSpan LifecycleMaxWarmup => WarmupOverride is { } w ? w * 3 : Quick ? TimeSpan.FromSeconds(15) : TimeSpan.FromSeconds(60);
    public TimeSpan LifecycleMeasure => MeasureOverride ?? (Quick ? TimeSpan.FromSeconds(5) : TimeSpan.FromSeconds(30));
    public TimeSpan JobRunTime => Quick ? TimeSpan.FromMilliseconds(500) : TimeSpan.FromSeconds(2);

    public bool Runs(string scenario) => Only.Count == 0 || Only.Contains(scenario);
}

/// <summary>The load scenarios, run against a <see cref="HostSession"/>.</summary>
public sealed class Scenarios(BenchOptions options, Deliveries deliveries, HostBuild build)
{
    private static readonly TimeSpan HostStartTimeout = TimeSpan.FromSeconds(90);

    public static Dictionary<string, string> HostSettings(string? connectionString = null, IReadOnlyDictionary<string, string>? extra = null)
    {
        var settings = new Dictionary<string, string>
        {
            ["GitHub:WebhookSecret"] = BuiltifulInstance.WebhookSecret,
            ["Logging:LogLevel:Default"] = "Warning",
            ["Logging:LogLevel:Orleans"] = "Warning",
            ["Logging:LogLevel:Orleans.Runtime.Silo"] = "Warning",
            ["Logging:LogLevel:Microsoft"] = "Warning",
            // Capacity is not what is measured: no job should wait in line for a free slot.
            ["Organisations:MaxConcurrentVms"] = "1000000",
        };
        if (extra?.GetValueOrDefault(Hosting.BenchHost.WorldKey) != "simulated")
        {
            // The VMs the driver plays claim their runner configs with documents it signs. A simulated world's VMs claim with
            // their own cloud's documents, whose certificate the host trusts for the same region: this one must not replace it.
            settings[LoadDriver.HostSetting.Key] = LoadDriver.HostSetting.Value!;
        }

        if (connectionString is not null)
        {
            settings["ConnectionStrings:Builtiful"] = connectionString;
            settings["Storage:EncryptionKeys:0:Id"] = "bench";
            settings["Storage:EncryptionKeys:0:Key"] = Convert.ToBase64String(RandomNumberGenerator.GetBytes(32));
            // With a database every silo must derive the same claim tokens, so the host generates none (issue 18).
            settings["Claims:Key"] = Convert.ToBase64String(RandomNumberGenerator.GetBytes(32));
            settings["Orleans:ClusterId"] = "bench-" + Guid.NewGuid().ToString("N")[..8];

            // On PostgreSQL nothing is generated, and the one silo talks to itself on loopback.
            settings["Admin:Token"] = BuiltifulInstance.AdminToken;
            settings["Orleans:Tls:Disabled"] = "true";
        }

        foreach (var (key, value) in extra ?? new Dictionary<string, string>())
        {
            settings[key] = value;
        }

        return settings;
    }

    /// <summary>
    /// One host process for several scenarios. The host's JIT needs tens of seconds of load to settle (see the
    /// ingest timeline), so the warm-up is paid once per storage kind: ingest first (it warms fastest), then the
    /// steady-rate decision run, then the memory fill.
    /// </summary>
    public async Task<HostSession> StartAsync(string? connectionString)
    {
        var settings = HostSettings(connectionString, new Dictionary<string, string>
        {
            // Leases stay live until a runner takes a job: far beyond any run, so the memory fill's leases stay live.
            ["Leases:BootDeadline"] = "02:00:00",
        });
        var host = await HostProcess.StartAsync(build, settings, HostStartTimeout);
        try
        {
            var driver = new LoadDriver(host, deliveries, options.Connections, options.Installations);
            await driver.InstallAsync();
            var postmaster = connectionString is null ? null : await Cpu.PostmasterOfAsync(connectionString);
            var baseline = await host.LiveManagedBytesAsync();
            return new HostSession(host, driver, postmaster, baseline, connectionString);
        }
        catch (Exception ex)
        {
            var lines = host.LastLines;
            await host.DisposeAsync();
            throw new InvalidOperationException($"{ex.Message} The host's last output:\n{lines}", ex);
        }
    }

    /// <summary>
    /// Full load on the host, unmeasured, until its JIT has settled or <paramref name="until"/> fires: the PostgreSQL host
    /// warms up this way while the in-memory host's memory is filled. Returns how long it ran.
    /// </summary>
    public async Task<TimeSpan> WarmAsync(HostSession session, CancellationToken until)
    {
        var clock = Stopwatch.StartNew();
        var warm = await session.Driver.IngestAsync(options.IngestWarmup, TimeSpan.FromMinutes(5), TimeSpan.FromMilliseconds(500), options.LiveJobs, null, null, until);
        session.JobsCompleted += warm.Window.Completed;
        return clock.Elapsed;
    }

    public async Task<JsonObject> IngestAsync(HostSession session)
    {
        var result = await session.Driver.IngestAsync(options.IngestWarmup, options.IngestMaxWarmup(session.ConnectionString is not null), options.IngestMeasure, options.LiveJobs, session.Postmaster, session.ConnectionString);
        var w = result.Window;
        session.JobsCompleted += w.Completed;
        session.IngestJobsPerSecond = w.Completed / w.Seconds;
        var database = result.Database;
        return new JsonObject
        {
            ["deliveries_per_s"] = R(w.PerSecond, 0),
            ["jobs_per_s"] = R(w.Completed / w.Seconds, 0),
            ["latency_ms"] = Latency(w.Latency),
            ["answered"] = w.Answered,
            ["by_stage"] = new JsonObject { ["queued"] = w.Queued, ["in_progress"] = w.InProgress, ["completed"] = w.Completed },
            ["latency_ms_by_stage"] = ByStage(w),
            ["failed_or_not_applied"] = w.Failed,
            ["window_s"] = R(w.Seconds, 2),
            ["connections"] = options.Connections,
            ["installations"] = options.Installations,
            ["live_jobs_cap"] = options.LiveJobs,
            ["host_cpu_ms_per_job"] = w.Completed > 0 ? R(result.Cpu.HostMs / w.Completed, 3) : null,
            ["host_cpu_us_per_delivery"] = w.Answered > 0 ? R(result.Cpu.HostMs * 1000 / w.Answered, 1) : null,
            ["postgres_cpu_ms_per_job"] = w.Completed > 0 && result.Cpu.PostgresMs is { } pg ? R(pg / w.Completed, 3) : null,
            ["postgres_per_job"] = DatabaseJson(database, w.Completed),
            ["cpu"] = CpuJson(result.Cpu),
            ["warmup_s"] = R(result.WarmedUp.TotalSeconds, 1),
            ["jit_settled_before_window"] = result.JitSettled,
            ["jit_ms_per_s_in_window"] = R(result.JitMs / w.Seconds, 1),
            ["jit_methods_in_window"] = result.JitMethods,
            ["timeline"] = Timeline(result.Timeline),
            ["timeline_columns"] = TimelineColumns,
            ["host_log_lines"] = session.Host.LogLines,
        };
    }

    /// <summary>Host CPU below which the host counts as idle (the in-memory host's background work is about 80 ms/s).</summary>
    private const double IdleHostMsPerSecond = 150;

    /// <summary>
    /// The PostgreSQL decision run's most load, as a share of the host's jobs/s at full load: 0.7 leaves the queueing of
    /// an open loop near saturation out of the decision latency (at ~320 jobs/s at full load, 200 jobs/s kept the
    /// machine 87 % busy with the load generator and PostgreSQL on it).
    /// </summary>
    private const double PgDecisionLoad = 0.7;

    public async Task<JsonObject> LifecycleAsync(HostSession session)
    {
        // The decision run is an open loop at a rate the host sustains: on PostgreSQL on 2 cores the host's limit can be
        // below the in-memory rate (200 jobs/s), and an overloaded open loop measures its queue, not the decision. So on
        // PostgreSQL: the configured rate (the goal's 200 jobs/s) when it is at most 70 % of the jobs/s its ingest run
        // completed at full load, else 70 % of that, rounded down to 10.
        var rate = options.DecisionRate;
        var rateRule = "the configured rate";
        if (session.ConnectionString is not null && session.IngestJobsPerSecond is { } limit && limit * PgDecisionLoad < rate)
        {
            rate = Math.Max(10, Math.Floor(limit * PgDecisionLoad / 10) * 10);
            rateRule = $"70 % of the PostgreSQL host's jobs/s at full load ({limit:0}), rounded down to 10, below the configured {options.DecisionRate:0}";
        }

        if (session.JobsCompleted == 0)
        {
            // Run alone (--only=lifecycle): warm the JIT with full load first, as the ingest run otherwise does.
            var warm = await session.Driver.IngestAsync(TimeSpan.FromSeconds(5), options.IngestMaxWarmup(session.ConnectionString is not null), TimeSpan.FromSeconds(1), options.LiveJobs, null);
            session.JobsCompleted += warm.Window.Completed;
        }

        // Background CPU of the idle host (membership, timers, dashboard collection), for reference. After an ingest run the
        // host may still be working off a backlog or compiling hot methods at tier 1 in the background (the JIT keeps going
        // for seconds after the load stops when it had not settled): wait, up to a bound, until it is quiet, and say
        // whether it was.
        var idleClock = Stopwatch.StartNew();
        var idleSettled = false;
        for (var waited = 0; waited < (options.Quick ? 6 : 15); waited++)
        {
            var quiet = new CpuMeter(session.Host, null);
            await quiet.StartAsync();
            await Task.Delay(TimeSpan.FromSeconds(1));
            if ((await quiet.StopAsync()).HostMs < IdleHostMsPerSecond)
            {
                idleSettled = true;
                break;
            }
        }

        var idleWaited = idleClock.Elapsed;
        var idle = new CpuMeter(session.Host, session.Postmaster);
        var idleBefore = await session.Host.StatsAsync();
        await idle.StartAsync();
        await Task.Delay(TimeSpan.FromSeconds(options.Quick ? 1.5 : 3));
        var idleCpu = await idle.StopAsync();
        var idleAfter = await session.Host.StatsAsync();
        var idleMsPerSecond = idleCpu.HostMs / idleCpu.Seconds;
        var idleJitMsPerSecond = (idleAfter.JitMs - idleBefore.JitMs) / idleCpu.Seconds;
        // The idle figure is a base to subtract only when the host was idle: not while it still compiles or drains.
        var idleIsIdle = idleMsPerSecond < IdleHostMsPerSecond;

        var before = await session.Host.StatsAsync();
        var databaseBefore = await PgActivity.ReadAsync(session.ConnectionString);
        var result = await session.Driver.LifecycleAsync(rate, options.LifecycleWarmup, options.LifecycleMaxWarmup, options.LifecycleMeasure, options.JobRunTime, session.Postmaster);
        var after = await session.Host.StatsAsync();
        var databaseAfter = await PgActivity.ReadAsync(session.ConnectionString);
        var w = result.Window;
        var jobs = w.Completed;
        var lifecycleJobs = after.Terminations - before.Terminations;
        session.JobsCompleted += after.Terminations - before.Terminations;
        var completedPerSecond = jobs / w.Seconds;
        return new JsonObject
        {
            ["target_jobs_per_s"] = rate,
            ["rate_rule"] = rateRule,
            ["jobs_completed_per_s"] = R(completedPerSecond, 1),
            // An open loop the host cannot keep up with queues deliveries in the client, where the host's decision clock
            // does not see them: then the delivery latencies, not decision_ms, tell what a job waited.
            ["saturated"] = completedPerSecond < 0.95 * rate,
            ["decision_ms"] = Latency(result.Decision),
            ["delivery_latency_ms"] = Latency(w.Latency),
            ["delivery_latency_ms_by_stage"] = ByStage(w),
            ["jobs_measured"] = result.MeasuredJobs,
            ["jobs_never_launched"] = result.NeverLaunched,
            ["failed_or_not_applied"] = w.Failed,
            ["job_run_time_ms"] = options.JobRunTime.TotalMilliseconds,
            ["window_s"] = R(w.Seconds, 2),
            ["cpu_ms_per_job"] = jobs > 0 ? R(result.Cpu.HostMs / jobs, 3) : null,
            ["host_cpu_us_per_delivery"] = w.Answered > 0 ? R(result.Cpu.HostMs * 1000 / w.Answered, 1) : null,
            ["cpu_ms_per_job_above_idle"] = jobs > 0 && idleIsIdle ? R((result.Cpu.HostMs - (idleMsPerSecond * result.Cpu.Seconds)) / jobs, 3) : null,
            ["postgres_cpu_ms_per_job"] = jobs > 0 && result.Cpu.PostgresMs is { } pg ? R(pg / jobs, 3) : null,
            ["idle_host_cpu_ms_per_s"] = R(idleMsPerSecond, 1),
            ["idle_host_jit_ms_per_s"] = R(idleJitMsPerSecond, 1),
            ["idle_host_was_idle"] = idleIsIdle,
            ["idle_waited_s"] = R(idleWaited.TotalSeconds, 1),
            ["idle_settled_before_measure"] = idleSettled,
            ["idle_postgres_cpu_ms_per_s"] = idleCpu.PostgresMs is { } idlePg ? R(idlePg / idleCpu.Seconds, 1) : null,
            ["postgres_per_job"] = databaseBefore is not null && databaseAfter is not null ? DatabaseJson(databaseAfter - databaseBefore, lifecycleJobs) : null,
            ["cpu"] = CpuJson(result.Cpu),
            ["warmup_s"] = R(result.WarmedUp.TotalSeconds, 1),
            ["jit_settled_before_window"] = result.JitSettled,
            ["jit_ms_per_s_in_window"] = R((after.JitMs - before.JitMs) / w.Seconds, 1),
            ["jit_methods_in_window"] = after.JitMethods - before.JitMethods,
            ["timeline"] = Timeline(result.Timeline),
            ["timeline_columns"] = TimelineColumns,
            ["host_log_lines"] = session.Host.LogLines,
        };
    }

    private const string TimelineColumns = "seconds since start, answers/s, host CPU ms/s, JIT ms/s, gen-2 GCs";

    private static JsonArray Timeline(IEnumerable<TimelinePoint> points) =>
        new([.. points.Select(p => (JsonNode)new JsonArray(p.AtSeconds, p.AnsweredPerSecond, p.HostCpuMsPerSecond, p.JitMsPerSecond, p.Gen2))]);

    /// <summary>The HTTP floor on this host: signed deliveries to a route that only reads the body and checks the signature.</summary>
    public async Task<JsonObject> FloorAsync(HostSession session)
    {
        var (w, cpu) = await session.Driver.FloorAsync(Hosting.BenchHost.FloorPath, options.Quick ? TimeSpan.FromSeconds(2) : TimeSpan.FromSeconds(5), options.IngestMeasure, session.Postmaster);
        return new JsonObject
        {
            ["deliveries_per_s"] = R(w.PerSecond, 0),
            ["latency_ms"] = Latency(w.Latency),
            ["failed_or_not_applied"] = w.Failed,
            ["host_cpu_us_per_delivery"] = w.Answered > 0 ? R(cpu.HostMs * 1000 / w.Answered, 1) : null,
            ["window_s"] = R(w.Seconds, 2),
            ["connections"] = options.Connections,
            ["what"] = "Kestrel, the body read into a pooled buffer and the HMAC-SHA256 check, answered 200 \"applied\"; no routing, parse or grain",
            ["cpu"] = CpuJson(cpu),
        };
    }

    public async Task<JsonObject> MemoryAsync(HostSession session)
    {
        var host = session.Host;
        var before = await host.LiveManagedBytesAsync();
        if (options.HoldBeforeFillSeconds > 0)
        {
            Console.Write($"[host pid {host.ProcessId} held for {options.HoldBeforeFillSeconds} s before the fill] ");
            await Task.Delay(TimeSpan.FromSeconds(options.HoldBeforeFillSeconds));
        }

        if (options.AllocationSamples)
        {
            await host.StartAllocationSamplesAsync();
        }

        var statsBefore = await host.StatsAsync();
        var liveBefore = statsBefore.Launches - statsBefore.Terminations;
        var fill = await session.Driver.FillAsync(options.Leases, statsBefore.Launches + options.Leases, TimeSpan.FromSeconds(120));
        var samples = options.AllocationSamples ? await host.AllocationSamplesAsync() : (System.Text.Json.JsonElement?)null;
        // The last launches' state writes (phase Booting) land just after the launch call.
        await Task.Delay(1000);
        var after = await host.LiveManagedBytesAsync();
        var statsAfter = await host.StatsAsync();
        var completed = session.JobsCompleted;
        if (options.HoldSeconds > 0)
        {
            Console.Write($"[host pid {host.ProcessId} held for {options.HoldSeconds} s] ");
            await Task.Delay(TimeSpan.FromSeconds(options.HoldSeconds));
        }

        return new JsonObject
        {
            ["live_leases"] = options.Leases,
            ["bytes_per_lease"] = (after - before) / options.Leases,
            ["live_bytes_before"] = before,
            ["live_bytes_after"] = after,
            ["working_set_bytes_after"] = statsAfter.WorkingSetBytes,
            ["fill_seconds"] = R(fill.TotalSeconds, 2),
            ["fill_jobs_per_s"] = R(options.Leases / fill.TotalSeconds, 0),
            ["allocated_bytes_per_lease_during_fill"] = (statsAfter.AllocatedBytes - statsBefore.AllocatedBytes) / options.Leases,
            ["live_bytes_at_start"] = session.BaselineBytes,
            ["jobs_completed_before_fill"] = completed,
            // The ingest run stops with up to its live-jobs cap still under way (their VMs launched, never completed):
            // those leases are live, not left behind by completed jobs, so they are counted at the fill's bytes per lease.
            ["live_leases_before_fill"] = liveBefore,
            ["retained_bytes_per_completed_job"] = completed > 0 ? (before - session.BaselineBytes - (liveBefore * ((after - before) / options.Leases))) / completed : null,
            ["retained_bytes_per_completed_job_uncorrected"] = completed > 0 ? (before - session.BaselineBytes) / completed : null,
            ["installations"] = options.Installations,
            ["storage"] = "in-memory grain storage and reminders: the stored copies of job, lease and organisation state are in this heap too",
            ["allocation_samples_during_fill"] = samples is { } s ? AllocationJson(s, options.Leases) : null,
        };
    }

    /// <summary>The host's sampled allocations by type, as bytes per lease of the fill (estimates: one sample per ~100 KB).</summary>
    private static JsonObject AllocationJson(System.Text.Json.JsonElement samples, int leases)
    {
        var total = samples.GetProperty("totalSampledBytes").GetInt64();
        var top = new JsonArray();
        foreach (var entry in samples.GetProperty("top").EnumerateArray())
        {
            var bytes = entry.GetProperty("bytes").GetInt64();
            top.Add(new JsonObject
            {
                ["type"] = entry.GetProperty("type").GetString(),
                ["bytes_per_lease"] = bytes / leases,
                ["share"] = total > 0 ? R(100.0 * bytes / total, 1) : null,
            });
        }

        return new JsonObject { ["sampled_bytes_per_lease"] = total / leases, ["by_type"] = top };
    }

    public static JsonObject Latency(Summary s) => new()
    {
        ["count"] = s.Count,
        ["p50"] = R(s.P50, 3),
        ["p90"] = R(s.P90, 3),
        ["p99"] = R(s.P99, 3),
        ["max"] = R(s.Max, 3),
        ["mean"] = R(s.Mean, 3),
    };

    public static JsonObject? DatabaseJson(PgActivity? activity, long jobs) => activity is null || jobs <= 0 ? null : new JsonObject
    {
        ["transactions"] = R((double)activity.Transactions / jobs, 1),
        ["rows_inserted"] = R((double)activity.Inserted / jobs, 1),
        ["rows_updated"] = R((double)activity.Updated / jobs, 1),
        ["rows_deleted"] = R((double)activity.Deleted / jobs, 1),
        ["jobs"] = jobs,
    };

    public static JsonObject ByStage(WindowSummary w) => new()
    {
        ["queued"] = Latency(w.ByStage[0]),
        ["in_progress"] = Latency(w.ByStage[1]),
        ["completed"] = Latency(w.ByStage[2]),
    };

    public static JsonObject CpuJson(CpuWindow cpu) => new()
    {
        ["window_s"] = R(cpu.Seconds, 2),
        ["host_ms_per_s"] = R(cpu.HostMs / cpu.Seconds, 1),
        ["generator_ms_per_s"] = R(cpu.DriverMs / cpu.Seconds, 1),
        ["postgres_ms_per_s"] = cpu.PostgresMs is { } pg ? R(pg / cpu.Seconds, 1) : null,
        ["machine_busy_percent"] = R(cpu.MachineBusyPercent, 1),
        // Whatever else ran on the machine meanwhile (the kernel's network stack for loopback, other users' work).
        ["others_ms_per_s"] = R((cpu.MachineBusyMs - cpu.HostMs - cpu.DriverMs - (cpu.PostgresMs ?? 0)) / cpu.Seconds, 1),
        ["busiest_other_processes"] = new JsonArray([.. cpu.Others.Select(o => (JsonNode)o)]),
        ["machine_capacity_ms_per_s"] = Environment.ProcessorCount * 1000,
    };

    public static double? R(double value, int digits) => double.IsNaN(value) || double.IsInfinity(value) ? null : Math.Round(value, digits);

    public static string Seconds(Stopwatch clock) => clock.Elapsed.TotalSeconds.ToString("0.0", CultureInfo.InvariantCulture) + " s";
}

/// <summary>A running bench host, its load driver with the installations made, and the live heap right after start.</summary>
public sealed class HostSession(HostProcess host, LoadDriver driver, int? postmaster, long baselineBytes, string? connectionString) : IAsyncDisposable
{
    public string? ConnectionString { get; } = connectionString;

    public HostProcess Host { get; } = host;

    public LoadDriver Driver { get; } = driver;

    public int? Postmaster { get; } = postmaster;

    public long BaselineBytes { get; } = baselineBytes;

    /// <summary>Jobs per second the ingest run completed at full load, once it ran.</summary>
    public double? IngestJobsPerSecond { get; set; }

    /// <summary>Jobs taken through their whole life on this host so far.</summary>
    public long JobsCompleted { get; set; }

    public async ValueTask DisposeAsync()
    {
        await Driver.DisposeAsync();
        await Host.DisposeAsync();
    }
}
