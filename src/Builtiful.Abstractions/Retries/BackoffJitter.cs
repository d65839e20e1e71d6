namespace Builtiful.Retries;

/// <summary>How a <see cref="Backoff"/> spreads the delays of callers that failed together.</summary>
public enum BackoffJitter
{
    /// <summary>Uniform in [0, min(max, base × 2^(retry-1))]: the widest spread, for contended limits such as EC2's API buckets.</summary>
    Full,

    /// <summary>Uniform in [base, min(max, 3 × previous delay)]: never shorter than the base, still decorrelated.</summary>
    Decorrelated,
}
