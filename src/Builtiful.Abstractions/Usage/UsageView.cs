namespace Builtiful.Usage;

/// <summary>One installation's month: billable minutes per machine-type label and the execution metrics of its jobs.</summary>
[GenerateSerializer, Immutable, Alias("builtiful.usage-view")]
public sealed record UsageView
{
    [Id(0)] public required string Month { get; init; }
    [Id(1)] public required long InstallationId { get; init; }
    [Id(2)] public IReadOnlyDictionary<string, long> Minutes { get; init; } = new Dictionary<string, long>();
    [Id(3)] public int Jobs { get; init; }
    /// <summary>
    /// Median queued → started over the month's jobs whose queue time is known. Approximate: taken from a
    /// logarithmic histogram, it is the mean queue time of the bucket holding the median, exact when that bucket's
    /// queue times are equal and otherwise within ~19 % (the bucket width) of the exact median.
    /// </summary>
    [Id(4)] public TimeSpan? QueueTimeP50 { get; init; }
    [Id(5)] public TimeSpan? QueueTimeAverage { get; init; }
    [Id(6)] public TimeSpan? DurationAverage { get; init; }
    /// <summary>Jobs per GitHub conclusion (<c>success</c>, <c>failure</c>, <c>cancelled</c>, …).</summary>
    [Id(7)] public IReadOnlyDictionary<string, int> Conclusions { get; init; } = new Dictionary<string, int>();
    [Id(8)] public IReadOnlyDictionary<string, int> JobsByMachineType { get; init; } = new Dictionary<string, int>();

    public long TotalMinutes => Minutes.Values.Sum();
}
