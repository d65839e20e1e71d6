namespace Builtiful.Compute.Ec2.Api;

/// <summary>
/// A token bucket on a <see cref="TimeProvider"/>: callers beyond the burst reserve a future token and wait for
/// the refill, first come first served, so a queue of launches drains at exactly the refill rate.
/// </summary>
public sealed class TokenBucket
{
    private readonly Lock _gate = new();
    private readonly TimeProvider _time;
    private double _tokens;
    private long _updatedAt;

    public TokenBucket(string name, int burst, double perSecond, TimeProvider time)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(burst, 1);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(perSecond);
        Name = name;
        Burst = burst;
        PerSecond = perSecond;
        _time = time;
        _tokens = burst;
        _updatedAt = time.GetTimestamp();
    }

    public string Name { get; }

    public int Burst { get; }

    public double PerSecond { get; }

    /// <summary>Tokens available now; negative when callers are queued for future tokens.</summary>
    public double Available
    {
        get
        {
            lock (_gate)
            {
                Refill();
                return _tokens;
            }
        }
    }

    /// <summary>Takes one token, waiting on the clock for the refill when the bucket is empty.</summary>
    public ValueTask AcquireAsync(CancellationToken cancellationToken)
    {
        TimeSpan wait;
        lock (_gate)
        {
            Refill();
            _tokens -= 1;
            if (_tokens >= 0)
            {
                return ValueTask.CompletedTask;
            }

            wait = TimeSpan.FromSeconds(-_tokens / PerSecond);
        }

        return new ValueTask(WaitAsync(wait, cancellationToken));
    }

    private async Task WaitAsync(TimeSpan wait, CancellationToken cancellationToken)
    {
        try
        {
            await Task.Delay(wait, _time, cancellationToken);
        }
        catch (OperationCanceledException)
        {
            // The reservation is handed back, so a cancelled caller does not slow down the ones behind it.
            lock (_gate)
            {
                _tokens += 1;
            }

            throw;
        }
    }

    private void Refill()
    {
        var now = _time.GetTimestamp();
        var elapsed = _time.GetElapsedTime(_updatedAt, now).TotalSeconds;
        _updatedAt = now;
        _tokens = Math.Min(Burst, _tokens + (elapsed * PerSecond));
    }
}
