using Orleans.Concurrency;

namespace Builtiful.Usage;

/// <summary>
/// Billable usage and execution metrics of one installation in one calendar month (UTC), keyed
/// <c>{installationId}:{yyyy-MM}</c> (see <see cref="UsageMonth"/>). Outlives the installation: usage is billed after
/// an uninstall too. It holds per-hour totals only: jobs are counted, deduplicated and listed by the hour shards
/// (<see cref="IUsageHourGrain"/>), which report their hour's totals here.
/// </summary>
[Alias("builtiful.usage")]
public interface IUsageGrain : IGrainWithStringKey
{
    /// <summary>
    /// Sets one hour's totals as settled: <see cref="ReportHour"/> with settled true, which shards of earlier versions
    /// called after each of their writes (kept for a rolling upgrade). Idempotent: the hour's
    /// totals are replaced, never added to, and totals of fewer jobs than those held are older ones arriving late (an
    /// hour's jobs are only ever added), so they are ignored. Answered once stored; calls interleave, and those made while
    /// the day's write is in flight are stored together by the next one.
    /// </summary>
    [AlwaysInterleave, Alias("set-hour")]
    Task SetHour(int hourIndex, UsageHourTotals totals);

    /// <summary>
    /// Reports one hour's totals from the hour's shard. While the shard is active it reports <paramref name="settled"/>
    /// false after each of its writes: the month stores the hour as open once, and later reports of an hour it holds as
    /// open only replace the totals in memory, so a burst of completions in one hour writes the month once, not per batch.
    /// When the shard deactivates it reports true, and the month stores the totals as settled. The month's readers ask
    /// the shards of open hours for their totals, so totals reported but not stored, or reports lost with a silo, are
    /// never what they read. Idempotent like <see cref="SetHour"/>: totals of fewer jobs than those held are ignored.
    /// </summary>
    [AlwaysInterleave, Alias("report-hour")]
    Task ReportHour(int hourIndex, UsageHourTotals totals, bool settled);

    /// <summary>
    /// Answers from the hour totals alone. <see cref="UsageView.QueueTimeP50"/> comes from a logarithmic histogram
    /// (see <see cref="QueueBucket.Median"/>).
    /// </summary>
    [ReadOnly, AlwaysInterleave, Alias("view")]
    Task<UsageView> GetView();

    /// <summary>
    /// The month's counted jobs, most recently completed first: seeks to the hour holding <paramref name="offset"/>
    /// by the hour totals and reads only the hour shards the page spans.
    /// </summary>
    [ReadOnly, AlwaysInterleave, Alias("runs")]
    Task<JobRunPage> GetRuns(int offset, int limit);
}
