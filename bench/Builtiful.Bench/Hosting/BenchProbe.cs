using System.Collections.Concurrent;
using System.Diagnostics;
using System.Threading.Channels;

namespace Builtiful.Bench.Hosting;

/// <summary>
/// The host-side instruments: when the gateway received each job's <c>queued</c> delivery, when the compute
/// provider was asked to launch its VM, and a feed of launches the load driver reads (it needs each lease's runner
/// name to play GitHub's <c>in_progress</c> and <c>completed</c>).
/// </summary>
public sealed class BenchProbe
{
    private readonly ConcurrentDictionary<long, long> _received = new();
    private readonly Channel<LaunchRecord> _feed = Channel.CreateUnbounded<LaunchRecord>(new UnboundedChannelOptions { SingleReader = false });
    private long _launches;
    private long _terminations;
    private int _feedSubscribed;

    public long Launches => Interlocked.Read(ref _launches);

    public long Terminations => Interlocked.Read(ref _terminations);

    public ChannelReader<LaunchRecord> Feed => _feed.Reader;

    /// <summary>Launch records are only queued while a driver reads them, so a run without a reader holds no memory for them.</summary>
    public bool Subscribe() => Interlocked.Exchange(ref _feedSubscribed, 1) == 0;

    /// <summary>Stops queuing launch records and drops those nobody read, so they hold no memory.</summary>
    public void Unsubscribe()
    {
        Volatile.Write(ref _feedSubscribed, 0);
        while (_feed.Reader.TryRead(out _))
        {
        }
    }

    public void Received(long jobId) => _received[jobId] = Stopwatch.GetTimestamp();

    public void Launched(long jobId, string runnerName)
    {
        var now = Stopwatch.GetTimestamp();
        Interlocked.Increment(ref _launches);
        var decisionMicros = _received.TryRemove(jobId, out var received)
            ? (long)Stopwatch.GetElapsedTime(received, now).TotalMicroseconds
            : -1;
        if (Volatile.Read(ref _feedSubscribed) == 1)
        {
            _feed.Writer.TryWrite(new LaunchRecord(jobId, runnerName, decisionMicros));
        }
    }

    public void Terminated() => Interlocked.Increment(ref _terminations);
}

/// <summary>One launch: the job it was for, the runner it carries, and microseconds since its queued delivery arrived (-1 if unknown).</summary>
public readonly record struct LaunchRecord(long JobId, string RunnerName, long DecisionMicros);
