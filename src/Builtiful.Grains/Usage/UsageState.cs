namespace Builtiful.Usage;

/// <summary>
/// One day of an installation's month (states <c>usage-day-01</c> to <c>usage-day-31</c>): the totals of each of its
/// hours, as that hour's shard last reported them. A job's write touches one day, so it does not grow with the month.
/// </summary>
[GenerateSerializer, Alias("builtiful.usage-day-state")]
public sealed record UsageDayState
{
    /// <summary>By hour index in the month (see <see cref="UsageHour.IndexInMonth"/>).</summary>
    [Id(0)] public Dictionary<int, UsageHourTotals> Hours { get; set; } = [];

    /// <summary>
    /// Hours whose shard was counting when their totals were stored: it may hold more jobs than <see cref="Hours"/>
    /// says, so the month asks it before answering. An hour leaves this set when its shard reports settled totals.
    /// </summary>
    [Id(1)] public HashSet<int> Open { get; set; } = [];
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

    // Id(1) is retired (LegacyTaken, of the month's pre-sharding copies that never shipped); never reuse it.

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
