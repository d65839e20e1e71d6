namespace Builtiful.Usage;

/// <summary>
/// A month of one installation's counted jobs as they were kept before usage was sharded by hour (state <c>usage</c>).
/// Nothing is added any more: each hour's shard takes its jobs over on activation and they leave here when that
/// shard first sets its hour's totals.
/// </summary>
[GenerateSerializer, Alias("builtiful.usage-state")]
public sealed record UsageState
{
    /// <summary>By job id.</summary>
    [Id(0)] public Dictionary<long, CountedJob> Jobs { get; set; } = [];
}

/// <summary>
/// One day of an installation's month (states <c>usage-day-01</c> to <c>usage-day-31</c>): the totals of each of its
/// hours, as that hour's shard last set them. A job's write touches one day, so it does not grow with the month.
/// </summary>
[GenerateSerializer, Alias("builtiful.usage-day-state")]
public sealed record UsageDayState
{
    /// <summary>By hour index in the month (see <see cref="UsageHour.IndexInMonth"/>).</summary>
    [Id(0)] public Dictionary<int, UsageHourTotals> Hours { get; set; } = [];
}

/// <summary>
/// One installation's counted jobs of one hour: the open page of the jobs counted last, and the pages sealed before it
/// (<see cref="UsagePageGrain"/>), so a job's write does not grow with the hour.
/// </summary>
[GenerateSerializer, Alias("builtiful.usage-hour-state")]
public sealed record UsageHourState
{
    /// <summary>
    /// The open page, by job id. Before pages, every job of the hour was kept here: such a state is sealed whole by
    /// its next count.
    /// </summary>
    [Id(0)] public Dictionary<long, CountedJob> Jobs { get; set; } = [];

    /// <summary>
    /// Whether the month holds no more copies of this hour's jobs counted before sharding (see
    /// <see cref="UsageState.Jobs"/>), so that an activation need not ask it.
    /// </summary>
    [Id(1)] public bool LegacyTaken { get; set; }

    /// <summary>
    /// One entry per sealed page, in page-number order: the latest <see cref="CountedJob.CompletedAt"/> on it, in UTC
    /// ticks, so that a listing newest first reads only the pages it needs.
    /// </summary>
    [Id(2)] public List<long> Pages { get; set; } = [];
}

/// <summary>A sealed page of an hour's counted jobs (state <c>usage-page</c>).</summary>
[GenerateSerializer, Alias("builtiful.usage-page-state")]
public sealed record UsagePageState
{
    [Id(0)] public List<CountedJob> Jobs { get; set; } = [];
}
