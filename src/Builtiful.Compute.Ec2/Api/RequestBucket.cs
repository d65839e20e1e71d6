using System.Threading.RateLimiting;

namespace Builtiful.Compute.Ec2.Api;

/// <summary>
/// One of EC2's request buckets: <see cref="Burst"/> calls at once, then one more every 1/<see cref="PerSecond"/>
/// seconds, first come first served. Permits and the FIFO queue of waiters are a <see cref="ConcurrencyLimiter"/>;
/// each spent permit is held until a refill on the injected <see cref="TimeProvider"/> hands it back.
/// </summary>
/// <remarks>
/// Not <see cref="TokenBucketRateLimiter"/>: it measures elapsed time with <c>Stopwatch</c> even when replenished
/// by hand (dotnet/runtime#106447), so it cannot follow a fake clock. Refilling one permit per interval while any
/// is spent, starting when the bucket first drops below full, frees whole tokens exactly when a continuous bucket would.
/// </remarks>
public sealed class RequestBucket : IDisposable
{
    private readonly Lock _gate = new();
    private readonly ConcurrencyLimiter _permits;
    private readonly Queue<RateLimitLease> _spent = new();
    private readonly ITimer _refill;

    public RequestBucket(string name, int burst, double perSecond, TimeProvider time)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(burst, 1);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(perSecond);
        ArgumentNullException.ThrowIfNull(time);
        Name = name;
        Burst = burst;
        PerSecond = perSecond;
        RefillInterval = TimeSpan.FromSeconds(1 / perSecond);
        _permits = new ConcurrencyLimiter(new ConcurrencyLimiterOptions
        {
            PermitLimit = burst,
            QueueLimit = int.MaxValue,
            QueueProcessingOrder = QueueProcessingOrder.OldestFirst,
        });
        _refill = time.CreateTimer(_ => Refill(), null, Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
    }

    public string Name { get; }

    public int Burst { get; }

    public double PerSecond { get; }

    public TimeSpan RefillInterval { get; }

    /// <summary>Tokens that can be taken now without waiting.</summary>
    public long Available => _permits.GetStatistics()?.CurrentAvailablePermits ?? 0;

    /// <summary>Callers waiting for a refill.</summary>
    public long Waiting => _permits.GetStatistics()?.CurrentQueuedCount ?? 0;

    /// <summary>Takes one token, waiting on the clock for the refill when the bucket is empty; a cancelled waiter takes none.</summary>
    public async ValueTask AcquireAsync(CancellationToken cancellationToken)
    {
        var lease = await _permits.AcquireAsync(1, cancellationToken);
        if (!lease.IsAcquired)
        {
            lease.Dispose();
            throw new InvalidOperationException($"{Name} refused a token although its queue is unbounded");
        }

        lock (_gate)
        {
            _spent.Enqueue(lease);
            if (_spent.Count == 1)
            {
                // The bucket just dropped below full: its refill cadence starts now, as a continuous bucket's would.
                _refill.Change(RefillInterval, RefillInterval);
            }
        }
    }

    public void Dispose()
    {
        _refill.Dispose();
        lock (_gate)
        {
            while (_spent.TryDequeue(out var lease))
            {
                lease.Dispose();
            }
        }

        _permits.Dispose();
    }

    private void Refill()
    {
        RateLimitLease? lease;
        lock (_gate)
        {
            if (!_spent.TryDequeue(out lease))
            {
                return;
            }

            if (_spent.Count == 0)
            {
                // Full again: the next spent token starts a new cadence.
                _refill.Change(Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
            }
        }

        // Outside the lock: handing the permit back may run the oldest waiter's continuation, which takes the lock.
        lease.Dispose();
    }
}
