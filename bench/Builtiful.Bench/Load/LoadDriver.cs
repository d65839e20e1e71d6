using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Threading.Channels;

namespace Builtiful.Bench.Load;

/// <summary>
/// Plays GitHub against one bench host over loopback HTTP/1.1: several keep-alive connections through
/// <see cref="SocketsHttpHandler"/>, real signed payloads, and, for each VM the host launches, the runner's
/// <c>in_progress</c> and <c>completed</c> deliveries naming the lease's runner.
/// </summary>
public sealed partial class LoadDriver : IAsyncDisposable
{
    private static readonly byte[] Applied = "\"applied\""u8.ToArray();

    private readonly HostProcess _host;
    private readonly Deliveries _deliveries;
    private readonly HttpClient _http;
    private readonly HttpClient _feedHttp;
    private readonly long[] _installations;
    private readonly long _jobBase = Random.Shared.NextInt64(1_000_000_000, 4_000_000_000_000);
    private long _nextJob;

    public LoadDriver(HostProcess host, Deliveries deliveries, int connections, int installations)
    {
        _host = host;
        _deliveries = deliveries;
        Connections = connections;
        _http = new HttpClient(new SocketsHttpHandler
        {
            MaxConnectionsPerServer = connections,
            PooledConnectionIdleTimeout = TimeSpan.FromMinutes(5),
            UseProxy = false,
            AllowAutoRedirect = false,
            AutomaticDecompression = DecompressionMethods.None,
        })
        {
            BaseAddress = host.BaseAddress,
            Timeout = TimeSpan.FromSeconds(60),
            DefaultRequestVersion = HttpVersion.Version11,
        };
        _feedHttp = new HttpClient(new SocketsHttpHandler { UseProxy = false }) { BaseAddress = host.BaseAddress, Timeout = Timeout.InfiniteTimeSpan };
        var first = Random.Shared.NextInt64(10_000_000, 900_000_000);
        _installations = [.. Enumerable.Range(0, installations).Select(i => first + i)];
    }

    public int Connections { get; }

    public int Installations => _installations.Length;

    public async ValueTask DisposeAsync()
    {
        _http.Dispose();
        _feedHttp.Dispose();
        _claimSlots?.Dispose();
        await Task.CompletedTask;
    }

    /// <summary>Installs the GitHub App on every installation the load spreads over.</summary>
    public async Task InstallAsync()
    {
        await Parallel.ForEachAsync(_installations, new ParallelOptions { MaxDegreeOfParallelism = Connections }, async (id, ct) =>
        {
            using var request = _deliveries.Installation(id);
            using var response = await _http.SendAsync(request, ct);
            response.EnsureSuccessStatusCode();
        });
    }

    /// <summary>
    /// Ingest: as many deliveries as the host answers, closed loop over <see cref="Connections"/> connections.
    /// Every job goes queued → (launch) → in_progress → completed, as GitHub's stream does, so live leases stay
    /// bounded by <paramref name="liveJobs"/> and the load is sustainable, not a pile-up of VMs.
    /// </summary>
    public async Task<IngestResult> IngestAsync(TimeSpan warmup, TimeSpan maxWarmup, TimeSpan measure, int liveJobs, int? postmaster, string? connectionString = null, CancellationToken until = default)
    {
        var work = Channel.CreateUnbounded<Work>();
        using var stop = new CancellationTokenSource();
        var window = new Window();
        var feed = FollowLaunchesAsync(launch => work.Writer.TryWrite(new Work(launch.JobId, Stage.InProgress, launch.RunnerName)), stop.Token);
        for (var i = 0; i < liveJobs; i++)
        {
            work.Writer.TryWrite(NewJob());
        }

        var workers = Enumerable.Range(0, Connections).Select(_ => Task.Run(async () =>
        {
            while (!stop.IsCancellationRequested)
            {
                Work item;
                try
                {
                    item = await work.Reader.ReadAsync(stop.Token);
                }
                catch (OperationCanceledException)
                {
                    return;
                }

                var (ok, ms) = await SendAsync(item);
                window.Record(ok, ms, item.Stage);
                if (!ok)
                {
                    work.Writer.TryWrite(NewJob());
                    continue;
                }

                switch (item.Stage)
                {
                    case Stage.InProgress:
                        work.Writer.TryWrite(item with { Stage = Stage.Completed });
                        break;
                    case Stage.Completed:
                        work.Writer.TryWrite(NewJob());
                        break;
                }
            }
        })).ToArray();

        // Warm up for at least the given time, then until the JIT has (nearly) finished re-compiling hot code at tier 1:
        // until then the host is not in its steady state (on 2 cores that takes 20-40 s of full load). Bounded by maxWarmup.
        var timeline = new List<TimelinePoint>();
        var clock = Stopwatch.StartNew();
        var sampler = SampleTimelineAsync(window, timeline, clock, stop.Token);
        while (clock.Elapsed < maxWarmup && !until.IsCancellationRequested)
        {
            await Task.Delay(TimeSpan.FromMilliseconds(250), CancellationToken.None);
            if (clock.Elapsed >= warmup && Settled(timeline))
            {
                break;
            }
        }

        var warmedUp = clock.Elapsed;
        var settled = Settled(timeline);
        var cpu = new CpuMeter(_host, postmaster);
        await cpu.StartAsync();
        var jitBefore = await _host.StatsAsync();
        var databaseBefore = await PgActivity.ReadAsync(connectionString);
        window.Open();
        await Task.Delay(measure, CancellationToken.None);
        window.Close();
        var used = await cpu.StopAsync();
        var jitAfter = await _host.StatsAsync();
        var databaseAfter = await PgActivity.ReadAsync(connectionString);
        await stop.CancelAsync();
        await Task.WhenAll(workers);
        await feed;
        await sampler;
        return new IngestResult(window.Summarise(), used, warmedUp, jitAfter.JitMs - jitBefore.JitMs, jitAfter.JitMethods - jitBefore.JitMethods, [.. timeline])
        {
            Database = databaseBefore is not null && databaseAfter is not null ? databaseAfter - databaseBefore : null,
            JitSettled = settled,
        };
    }

    /// <summary>
    /// Steady load: new jobs' <c>queued</c> deliveries at a fixed rate (open loop, sent on schedule whatever the
    /// answers), each launched VM's runner reporting <c>in_progress</c> at once and <c>completed</c> after
    /// <paramref name="jobRunTime"/>. Decision latency is measured inside the host, from the gateway receiving the
    /// <c>queued</c> delivery to the compute provider's launch call.
    /// </summary>
    public async Task<LifecycleResult> LifecycleAsync(double jobsPerSecond, TimeSpan warmup, TimeSpan maxWarmup, TimeSpan measure, TimeSpan jobRunTime, int? postmaster)
    {
        using var stop = new CancellationTokenSource();
        var window = new Window();
        var decisions = new ConcurrentQueue<double>();
        var measuredJobs = new ConcurrentDictionary<long, byte>();
        var pending = new ConcurrentDictionary<Task, byte>();
        long launched = 0;
        void Track(Task task)
        {
            pending.TryAdd(task, 0);
            _ = task.ContinueWith(t => pending.TryRemove(t, out _), TaskScheduler.Default);
        }

        var feed = FollowLaunchesAsync(launch =>
        {
            Interlocked.Increment(ref launched);
            if (measuredJobs.TryRemove(launch.JobId, out _) && launch.DecisionMicros >= 0)
            {
                decisions.Enqueue(launch.DecisionMicros / 1000.0);
            }

            Track(Task.Run(async () =>
            {
                var started = new Work(launch.JobId, Stage.InProgress, launch.RunnerName);
                var (ok, ms) = await SendAsync(started);
                window.Record(ok, ms, Stage.InProgress);
                await Task.Delay(jobRunTime);
                var (done, doneMs) = await SendAsync(started with { Stage = Stage.Completed });
                window.Record(done, doneMs, Stage.Completed);
            }));
        }, stop.Token);

        var cpu = new CpuMeter(_host, postmaster);
        var interval = TimeSpan.FromSeconds(1 / jobsPerSecond);
        var clock = Stopwatch.StartNew();
        // Warm up at the rate for at least the given time, then until the JIT has (nearly) finished compiling what this
        // rate makes hot, bounded by maxWarmup, as the ingest run does: a window that still compiles measures warm-up.
        var timeline = new List<TimelinePoint>();
        var sampler = SampleTimelineAsync(window, timeline, clock, stop.Token);
        TimeSpan? measureFrom = null;
        long sent = 0;
        long measuredSent = 0;
        var settled = false;
        while (measureFrom is not { } from || clock.Elapsed < from + measure)
        {
            if (measureFrom is null && clock.Elapsed >= warmup && ((settled = Settled(timeline)) || clock.Elapsed >= maxWarmup))
            {
                measureFrom = clock.Elapsed;
                await cpu.StartAsync();
                window.Open();
            }

            // Everything due by now goes out; then sleep to the next due time (Linux timers are ~1 ms).
            var due = (long)(clock.Elapsed / interval) + 1;
            for (; sent < due; sent++)
            {
                var job = NewJob();
                if (measureFrom is not null)
                {
                    measuredJobs[job.JobId] = 0;
                    measuredSent++;
                }

                Track(Task.Run(async () =>
                {
                    var (ok, ms) = await SendAsync(job);
                    window.Record(ok, ms, Stage.Queued);
                }));
            }

            var next = interval * sent - clock.Elapsed;
            if (next > TimeSpan.Zero)
            {
                await Task.Delay(next);
            }
        }

        window.Close();
        var used = await cpu.StopAsync();

        // Let every job that was started finish its life, so nothing is cut off mid-delivery.
        var drain = Stopwatch.StartNew();
        while (!pending.IsEmpty && drain.Elapsed < jobRunTime + TimeSpan.FromSeconds(15))
        {
            await Task.Delay(50);
        }

        await stop.CancelAsync();
        await feed;
        await sampler;
        var missing = measuredJobs.Count;
        return new LifecycleResult(window.Summarise(), Summary.Of([.. decisions]), used, measuredSent, missing, Interlocked.Read(ref launched))
        {
            WarmedUp = measureFrom ?? TimeSpan.Zero,
            JitSettled = settled,
            Timeline = [.. timeline],
        };
    }

    /// <summary>Queues <paramref name="jobs"/> new jobs as fast as the host takes them and waits until every one has its VM launched.</summary>
    public async Task<TimeSpan> FillAsync(int jobs, long expectedLaunches, TimeSpan timeout)
    {
        var clock = Stopwatch.StartNew();
        var failures = 0;
        await Parallel.ForEachAsync(Enumerable.Range(0, jobs), new ParallelOptions { MaxDegreeOfParallelism = Connections }, async (_, _) =>
        {
            var (ok, _) = await SendAsync(NewJob());
            if (!ok)
            {
                Interlocked.Increment(ref failures);
            }
        });

        if (failures > 0)
        {
            throw new InvalidOperationException($"{failures} of {jobs} queued deliveries were not applied.");
        }

        while ((await _host.StatsAsync()).Launches < expectedLaunches)
        {
            if (clock.Elapsed > timeout)
            {
                throw new TimeoutException($"Only {(await _host.StatsAsync()).Launches} of {expectedLaunches} VMs were launched within {timeout.TotalSeconds:0} s.");
            }

            await Task.Delay(100);
        }

        return clock.Elapsed;
    }

    /// <summary>The JIT spent under 2% of a core in each of the last two seconds.</summary>
    private static bool Settled(List<TimelinePoint> timeline)
    {
        lock (timeline)
        {
            return timeline.Count >= 2 && timeline[^1].JitMsPerSecond < 20 && timeline[^2].JitMsPerSecond < 20;
        }
    }

    private async Task SampleTimelineAsync(Window window, List<TimelinePoint> timeline, Stopwatch clock, CancellationToken cancellationToken)
    {
        var last = await _host.StatsAsync();
        var lastAnswered = window.Total;
        var lastAt = clock.Elapsed;
        try
        {
            while (!cancellationToken.IsCancellationRequested)
            {
                await Task.Delay(TimeSpan.FromSeconds(1), cancellationToken);
                var now = await _host.StatsAsync();
                var answered = window.Total;
                var at = clock.Elapsed;
                var seconds = (at - lastAt).TotalSeconds;
                lock (timeline)
                {
                    timeline.Add(new TimelinePoint(
                        Math.Round(at.TotalSeconds, 1),
                        Math.Round((answered - lastAnswered) / seconds),
                        Math.Round((now.CpuMs - last.CpuMs) / seconds),
                        Math.Round((now.JitMs - last.JitMs) / seconds),
                        now.Gen2 - last.Gen2));
                }

                (last, lastAnswered, lastAt) = (now, answered, at);
            }
        }
        catch (OperationCanceledException)
        {
            // The run is over.
        }
    }

    private Work NewJob()
    {
        var n = Interlocked.Increment(ref _nextJob);
        return new Work(_jobBase + n, Stage.Queued, null);
    }

    private long InstallationOf(long jobId) => _installations[(int)((jobId - _jobBase) % _installations.Length)];

    private async Task<(bool Ok, double Ms)> SendAsync(Work item, string? path = null)
    {
        using var request = path is null
            ? _deliveries.Request(item.Stage, item.JobId, InstallationOf(item.JobId), item.RunnerName)
            : _deliveries.Request(item.Stage, item.JobId, InstallationOf(item.JobId), item.RunnerName, path);
        var start = Stopwatch.GetTimestamp();
        try
        {
            using var response = await _http.SendAsync(request, HttpCompletionOption.ResponseContentRead);
            var body = await response.Content.ReadAsByteArrayAsync();
            var ms = Stopwatch.GetElapsedTime(start).TotalMilliseconds;
            return (response.StatusCode == HttpStatusCode.OK && body.AsSpan().IndexOf(Applied) >= 0, ms);
        }
        catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException)
        {
            return (false, Stopwatch.GetElapsedTime(start).TotalMilliseconds);
        }
    }

    /// <summary>
    /// Follows the host's launch feed until cancelled, passing on launches of jobs this scenario queued (an earlier
    /// scenario's stragglers are ignored), then tells the host to stop queuing records.
    /// </summary>
    private async Task FollowLaunchesAsync(Action<Hosting.LaunchRecord> onLaunch, CancellationToken cancellationToken)
    {
        var firstJob = _jobBase + Interlocked.Read(ref _nextJob) + 1;
        try
        {
            await FollowAsync(launch =>
            {
                if (launch.JobId >= firstJob)
                {
                    _ = ClaimThenAsync(launch, onLaunch);
                }
            }, cancellationToken);
        }
        finally
        {
            using var unsubscribe = await _feedHttp.PostAsync("/__bench/unsubscribe", null, CancellationToken.None);
        }
    }

    private async Task FollowAsync(Action<Hosting.LaunchRecord> onLaunch, CancellationToken cancellationToken)
    {
        try
        {
            using var response = await _feedHttp.GetAsync("/__bench/launches", HttpCompletionOption.ResponseHeadersRead, cancellationToken);
            response.EnsureSuccessStatusCode();
            await using var stream = await response.Content.ReadAsStreamAsync(cancellationToken);
            using var reader = new StreamReader(stream);
            while (await reader.ReadLineAsync(cancellationToken) is { } line)
            {
                var fields = line.Split(' ');
                onLaunch(new Hosting.LaunchRecord(
                    long.Parse(fields[0], CultureInfo.InvariantCulture), fields[1], long.Parse(fields[2], CultureInfo.InvariantCulture),
                    fields[3], Guid.ParseExact(fields[4], "D"), fields[5], new DateTimeOffset(long.Parse(fields[6], CultureInfo.InvariantCulture), TimeSpan.Zero)));
            }
        }
        catch (Exception ex) when (ex is OperationCanceledException or IOException or HttpRequestException && cancellationToken.IsCancellationRequested)
        {
            // The run is over.
        }
    }

    private readonly record struct Work(long JobId, Stage Stage, string? RunnerName);

    /// <summary>Answers completed while the window is open: their count, failures and latencies.</summary>
    private sealed class Window
    {
        private readonly ConcurrentQueue<double>[] _latencies = [new(), new(), new()];
        private readonly long[] _byStage = new long[3];
        private long _failed;
        private long _opened;
        private long _closed;
        private volatile bool _open;

        public void Open()
        {
            _opened = Stopwatch.GetTimestamp();
            _open = true;
        }

        public void Close()
        {
            _open = false;
            _closed = Stopwatch.GetTimestamp();
        }

        private long _total;

        public long Total => Interlocked.Read(ref _total);

        public void Record(bool ok, double ms, Stage stage)
        {
            if (ok)
            {
                Interlocked.Increment(ref _total);
            }

            if (!_open)
            {
                return;
            }

            if (!ok)
            {
                Interlocked.Increment(ref _failed);
                return;
            }

            _latencies[(int)stage].Enqueue(ms);
            Interlocked.Increment(ref _byStage[(int)stage]);
        }

        public WindowSummary Summarise()
        {
            var seconds = Stopwatch.GetElapsedTime(_opened, _closed).TotalSeconds;
            return new WindowSummary(seconds, Summary.Of([.. _latencies.SelectMany(l => l)]), Interlocked.Read(ref _failed),
                Interlocked.Read(ref _byStage[0]), Interlocked.Read(ref _byStage[1]), Interlocked.Read(ref _byStage[2]),
                [.. _latencies.Select(l => Summary.Of([.. l]))]);
        }
    }
}

/// <summary>Latency percentiles in milliseconds.</summary>
public sealed record Summary(int Count, double P50, double P90, double P99, double Max, double Mean)
{
    public static Summary Of(double[] values)
    {
        if (values.Length == 0)
        {
            return new Summary(0, double.NaN, double.NaN, double.NaN, double.NaN, double.NaN);
        }

        Array.Sort(values);
        double At(double p) => values[Math.Clamp((int)Math.Ceiling(p * values.Length) - 1, 0, values.Length - 1)];
        return new Summary(values.Length, At(0.50), At(0.90), At(0.99), values[^1], values.Average());
    }
}

public sealed record WindowSummary(double Seconds, Summary Latency, long Failed, long Queued, long InProgress, long Completed, IReadOnlyList<Summary> ByStage)
{
    public long Answered => Queued + InProgress + Completed;

    public double PerSecond => Answered / Seconds;
}

public sealed record IngestResult(WindowSummary Window, CpuWindow Cpu, TimeSpan WarmedUp, double JitMs, long JitMethods, IReadOnlyList<TimelinePoint> Timeline)
{
    public PgActivity? Database { get; init; }

    /// <summary>Whether the JIT had settled when the measured window opened (if not, the window includes tier-1 compilation).</summary>
    public bool JitSettled { get; init; }
}

/// <summary>One second of a run: answers per second, host CPU and JIT milliseconds per second, gen-2 collections.</summary>
public sealed record TimelinePoint(double AtSeconds, double AnsweredPerSecond, double HostCpuMsPerSecond, double JitMsPerSecond, int Gen2);

public sealed record LifecycleResult(WindowSummary Window, Summary Decision, CpuWindow Cpu, long MeasuredJobs, long NeverLaunched, long Launched)
{
    /// <summary>How long the rate ran before the window opened.</summary>
    public TimeSpan WarmedUp { get; init; }

    /// <summary>Whether the JIT had settled when the window opened (else the warm-up reached its bound).</summary>
    public bool JitSettled { get; init; }

    /// <summary>Each second of the run, warm-up included.</summary>
    public IReadOnlyList<TimelinePoint> Timeline { get; init; } = [];
}
