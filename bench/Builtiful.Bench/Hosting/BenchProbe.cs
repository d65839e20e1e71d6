using System.Collections.Concurrent;
using System.Diagnostics;
using System.Threading.Channels;

namespace Builtiful.Bench.Hosting;

/// <summary>
/// The host-side instruments: when the gateway received each job's <c>queued</c> delivery, when the compute
/// provider was asked to launch its VM, and a feed of launches the load driver reads (it plays each VM's claim, then
/// GitHub's <c>in_progress</c> and <c>completed</c> for its runner).
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

    /// <summary>
    /// The provider was asked to launch the job's VM: queues what its VM needs to claim its runner config (the driver plays
    /// the VM, off the host's CPU) and microseconds since the job's queued delivery arrived (-1 if unknown).
    /// </summary>
    public void Launched(long jobId, string runnerName, string instanceId, Guid leaseId, string claimToken, DateTimeOffset launchedAt)
    {
        var now = Stopwatch.GetTimestamp();
        Interlocked.Increment(ref _launches);
        var decisionMicros = _received.TryRemove(jobId, out var received)
            ? (long)Stopwatch.GetElapsedTime(received, now).TotalMicroseconds
            : -1;
        Volatile.Read(ref _feed)?.Writer.TryWrite(new LaunchRecord(jobId, runnerName, decisionMicros, instanceId, leaseId, claimToken, launchedAt));
    }

    public void Terminated() => Interlocked.Increment(ref _terminations);
}

/// <summary>
/// One launch: the job it was for, the runner it carries, microseconds since its queued delivery arrived (-1 if unknown),
/// and what its VM claims its runner config with (instance, lease, claim token, launch time for the identity document).
/// </summary>
public readonly record struct LaunchRecord(long JobId, string RunnerName, long DecisionMicros, string InstanceId, Guid LeaseId, string ClaimToken, DateTimeOffset LaunchedAt);
