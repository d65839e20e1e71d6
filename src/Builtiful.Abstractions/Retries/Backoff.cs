namespace Builtiful.Retries;

/// <summary>
/// Builtiful's one retry-delay policy: exponential from <see cref="BaseDelay"/>, capped at <see cref="MaxDelay"/>,
/// with jitter so that many callers refused at once do not retry at once. A pure function of the retry and a
/// <see cref="Random"/>; callers wait the delay on their own <see cref="TimeProvider"/>.
/// </summary>
public sealed record Backoff
{
    public Backoff(TimeSpan baseDelay, TimeSpan maxDelay, BackoffJitter jitter = BackoffJitter.Full)
    {
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(baseDelay, TimeSpan.Zero);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxDelay, baseDelay);
        BaseDelay = baseDelay;
        MaxDelay = maxDelay;
        Jitter = jitter;
    }

    public TimeSpan BaseDelay { get; }

    public TimeSpan MaxDelay { get; }

    public BackoffJitter Jitter { get; }

    /// <summary><c>min(max, base × 2^(retry-1))</c>: the longest the <paramref name="retry"/>th retry (1 is the first) waits with full jitter.</summary>
    public TimeSpan Ceiling(int retry)
    {
        var exponent = Math.Clamp(retry - 1, 0, 30);
        return TimeSpan.FromTicks((long)Math.Min(MaxDelay.Ticks, BaseDelay.Ticks * Math.Pow(2, exponent)));
    }

    /// <summary>
    /// The delay before the <paramref name="retry"/>th retry (1 is the first). Full jitter draws from
    /// [0, <see cref="Ceiling"/>]; decorrelated jitter draws from [base, 3 × <paramref name="previous"/>], capped,
    /// and needs the previous delay (<see cref="TimeSpan.Zero"/> before the first retry).
    /// </summary>
    public TimeSpan Delay(int retry, TimeSpan previous, Random random)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(retry, 1);
        ArgumentNullException.ThrowIfNull(random);
        return Jitter switch
        {
            BackoffJitter.Full => TimeSpan.FromTicks((long)(Ceiling(retry).Ticks * random.NextDouble())),
            BackoffJitter.Decorrelated => Decorrelated(previous, random),
            _ => throw new InvalidOperationException($"Unknown jitter {Jitter}"),
        };
    }

    /// <summary>The delays before retry 1, 2, 3, … (endless); enumerate as far as the retry budget goes.</summary>
    public IEnumerable<TimeSpan> Delays(Random random)
    {
        ArgumentNullException.ThrowIfNull(random);
        return Sequence(random);
    }

    private IEnumerable<TimeSpan> Sequence(Random random)
    {
        var previous = TimeSpan.Zero;
        for (var retry = 1; ; retry++)
        {
            previous = Delay(retry, previous, random);
            yield return previous;
        }
    }

    private TimeSpan Decorrelated(TimeSpan previous, Random random)
    {
        var upper = Math.Min(MaxDelay.Ticks, Math.Max(BaseDelay.Ticks, previous.Ticks) * 3.0);
        return TimeSpan.FromTicks((long)(BaseDelay.Ticks + ((upper - BaseDelay.Ticks) * random.NextDouble())));
    }
}
