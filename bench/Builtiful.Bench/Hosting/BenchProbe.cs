using System.Collections.Concurrent;
using System.Diagnostics;
using System.Threading.Channels;

namespace Builtiful.Bench.Hosting;

/// <summary>
/// The host-side instruments: when the gateway received each job's <c>queued</c> delivery, when the compute
/// provider was asked to launch its VM, and a feed of runners online (their VM's claim granted) the load driver reads
/// (it needs each lease's runner name to play GitHub's <c>in_progress</c> and <c>completed</c>).
/// </summary>
public sealed class BenchProbe
{
    private readonly ConcurrentDictionary<long, long> _received = new();
    private Channel<LaunchRecord>? _feed;
    private long _launches;
    private long _terminations;

    public long Launches => Interlocked.Read(ref _launches);

    public long Terminations => Interlocked.Read(ref _terminations);

    /// <summary>
    /// Launch records are only queued while a driver reads them, so a run without a reader holds no memory for them. Each
    /// subscription has its own queue: a previous feed request whose end the host notices late can neither take the new
    /// subscriber's records nor end its subscription. Null when a feed is already subscribed.
    /// </summary>
    public ChannelReader<LaunchRecord>? Subscribe()
    {
        var feed = Channel.CreateUnbounded<LaunchRecord>(new UnboundedChannelOptions { SingleReader = true });
        return Interlocked.CompareExchange(ref _feed, feed, null) is null ? feed.Reader : null;
    }

    /// <summary>Stops queuing launch records for <paramref name="only"/> (or whichever feed is subscribed) and drops those nobody read.</summary>
    public void Unsubscribe(ChannelReader<LaunchRecord>? only = null)
    {
        var current = Volatile.Read(ref _feed);
        if (current is null || (only is not null && current.Reader != only))
        {
            return;
        }

        if (Interlocked.CompareExchange(ref _feed, null, current) == current)
        {
            current.Writer.TryComplete();
        }
    }

    public void Received(long jobId) => _received[jobId] = Stopwatch.GetTimestamp();

    /// <summary>The provider was asked to launch the job's VM; returns microseconds since its queued delivery arrived (-1 if unknown).</summary>
    public long Launched(long jobId)
    {
        var now = Stopwatch.GetTimestamp();
        Interlocked.Increment(ref _launches);
        return _received.TryRemove(jobId, out var received)
            ? (long)Stopwatch.GetElapsedTime(received, now).TotalMicroseconds
            : -1;
    }

    /// <summary>The VM's runner has its config (its claim was granted): the driver may now play GitHub's deliveries for it.</summary>
    public void Online(long jobId, string runnerName, long decisionMicros) =>
        Volatile.Read(ref _feed)?.Writer.TryWrite(new LaunchRecord(jobId, runnerName, decisionMicros));

    public long ClaimFailures => Interlocked.Read(ref _claimFailures);

    private long _claimFailures;

    /// <summary>A VM's claim was not granted after its retries; its runner is let online anyway so the run can finish.</summary>
    public void ClaimFailed() => Interlocked.Increment(ref _claimFailures);

    public void Terminated() => Interlocked.Increment(ref _terminations);
}

/// <summary>One launch: the job it was for, the runner it carries, and microseconds since its queued delivery arrived (-1 if unknown).</summary>
public readonly record struct LaunchRecord(long JobId, string RunnerName, long DecisionMicros);
