namespace Builtiful.Compute.Ec2.Api;

/// <summary>Exponential backoff with full jitter: spreads retries of many callers instead of synchronising them.</summary>
public static class Backoff
{
    /// <summary>A delay drawn uniformly from zero to <see cref="Ceiling"/> for this retry (1 is the first retry).</summary>
    public static TimeSpan FullJitter(int retry, TimeSpan baseDelay, TimeSpan maxDelay, Random random)
    {
        ArgumentNullException.ThrowIfNull(random);
        return TimeSpan.FromTicks((long)(Ceiling(retry, baseDelay, maxDelay).Ticks * random.NextDouble()));
    }

    /// <summary><c>min(max, base × 2^(retry-1))</c>: the longest a retry can wait.</summary>
    public static TimeSpan Ceiling(int retry, TimeSpan baseDelay, TimeSpan maxDelay)
    {
        var exponent = Math.Clamp(retry - 1, 0, 30);
        var ticks = Math.Min(maxDelay.Ticks, baseDelay.Ticks * Math.Pow(2, exponent));
        return TimeSpan.FromTicks((long)ticks);
    }
}
