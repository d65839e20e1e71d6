using System.Diagnostics;
using System.Threading.Channels;
using Builtiful.Bench.Hosting;

namespace Builtiful.Bench.Load;

public sealed partial class LoadDriver
{
    /// <summary>
    /// Issue 19's burst: <paramref name="jobs"/> <c>queued</c> deliveries as fast as the host takes them (closed loop over
    /// the connections), then their runs: each launched VM's runner reports <c>in_progress</c> and, at once, <c>completed</c>
    /// (the queued deliveries are all ahead of the runs in the work queue). Returns when every job's VM is terminated, or
    /// at the bound.
    /// </summary>
    public async Task<BurstRun> BurstAsync(int jobs, TimeSpan bound)
    {
        var work = Channel.CreateUnbounded<Work>();
        using var stop = new CancellationTokenSource();
        var window = new Window();
        var before = await _host.StatsAsync();
        var claimFailuresBefore = ClaimFailures;
        var feed = FollowLaunchesAsync(launch => work.Writer.TryWrite(new Work(launch.JobId, Stage.InProgress, launch.RunnerName)), stop.Token);
        for (var i = 0; i < jobs; i++)
        {
            work.Writer.TryWrite(NewJob());
        }

        var clock = Stopwatch.StartNew();
        window.Open();
        long queuedAnswered = 0;
        var queuedDone = new TaskCompletionSource<TimeSpan>(TaskCreationOptions.RunContinuationsAsynchronously);
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
                if (item.Stage == Stage.Queued && Interlocked.Increment(ref queuedAnswered) == jobs)
                {
                    queuedDone.TrySetResult(clock.Elapsed);
                }

                if (ok && item.Stage == Stage.InProgress)
                {
                    work.Writer.TryWrite(item with { Stage = Stage.Completed });
                }
            }
        })).ToArray();

        // Done when the cloud has terminated every job's VM: the whole life, including the lease's work after completed.
        HostStats now;
        do
        {
            await Task.Delay(50);
            now = await _host.StatsAsync();
        }
        while (now.Terminations - before.Terminations < jobs && clock.Elapsed < bound);

        var elapsed = clock.Elapsed;
        window.Close();
        await stop.CancelAsync();
        await Task.WhenAll(workers);
        await feed;
        var queuedIn = queuedDone.Task.IsCompleted ? await queuedDone.Task : (TimeSpan?)null;
        return new BurstRun(window.Summarise(), elapsed, queuedIn, now.Launches - before.Launches, now.Terminations - before.Terminations, now.CpuMs - before.CpuMs,
            ClaimFailures - claimFailuresBefore);
    }

    /// <summary>
    /// The HTTP floor: signed <c>queued</c> deliveries, closed loop at the host's limit, to a bench-only route that reads the
    /// body, checks the signature and answers (no parse, no grain); <paramref name="warmup"/> unmeasured, then the window.
    /// </summary>
    public async Task<(WindowSummary Window, CpuWindow Cpu)> FloorAsync(string path, TimeSpan warmup, TimeSpan measure, int? postmaster)
    {
        using var stop = new CancellationTokenSource();
        var window = new Window();
        var workers = Enumerable.Range(0, Connections).Select(_ => Task.Run(async () =>
        {
            while (!stop.IsCancellationRequested)
            {
                var item = NewJob();
                var (ok, ms) = await SendAsync(item, path);
                window.Record(ok, ms, item.Stage);
            }
        })).ToArray();

        await Task.Delay(warmup);
        var cpu = new CpuMeter(_host, postmaster);
        await cpu.StartAsync();
        window.Open();
        await Task.Delay(measure);
        window.Close();
        var used = await cpu.StopAsync();
        await stop.CancelAsync();
        await Task.WhenAll(workers);
        return (window.Summarise(), used);
    }
}

/// <summary>One burst: the answers, how long until every VM was terminated, the queued part alone, and the host's CPU in between.</summary>
/// <summary>One burst's figures; <paramref name="ClaimFailures"/>: VMs whose claim was never granted (0 in a sound run).</summary>
public sealed record BurstRun(WindowSummary Window, TimeSpan Elapsed, TimeSpan? QueuedIn, long Launched, long Terminated, double HostCpuMs, long ClaimFailures);
