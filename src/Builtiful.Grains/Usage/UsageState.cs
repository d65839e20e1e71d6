namespace Builtiful.Usage;

/// <summary>
/// A month of one installation's usage: the totals of each hour, as that hour's shard last set them. The jobs
/// themselves live in the hour shards (<see cref="UsageHourState"/>), so a write here does not grow with the month's jobs.
/// </summary>
[GenerateSerializer, Alias("builtiful.usage-state")]
public sealed record UsageState
{
    /// <summary>
    /// Jobs counted before usage was sharded by hour, by job id. Each hour's shard takes its jobs over on activation
    /// and they leave here when that shard first sets its hour's totals; nothing is added any more.
    /// </summary>
    [Id(0)] public Dictionary<long, CountedJob> Jobs { get; set; } = [];

    /// <summary>By hour index in the month (see <see cref="UsageHour.IndexInMonth"/>).</summary>
    [Id(1)] public Dictionary<int, UsageHourTotals> Hours { get; set; } = [];
}

/// <summary>One installation's counted jobs of one hour.</summary>
[GenerateSerializer, Alias("builtiful.usage-hour-state")]
public sealed record UsageHourState
{
    /// <summary>By job id: the key is what makes counting idempotent.</summary>
    [Id(0)] public Dictionary<long, CountedJob> Jobs { get; set; } = [];

    /// <summary>
    /// Whether the month holds no more copies of this hour's jobs counted before sharding (see
    /// <see cref="UsageState.Jobs"/>), so that an activation need not ask it.
    /// </summary>
    [Id(1)] public bool LegacyTaken { get; set; }
}
