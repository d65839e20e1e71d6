using Orleans.Concurrency;

namespace Builtiful.Usage;

/// <summary>
/// Billable usage and execution metrics of one installation in one calendar month (UTC), keyed
/// <c>{installationId}:{yyyy-MM}</c> (see <see cref="UsageMonth"/>). Outlives the installation: usage is billed after
/// an uninstall too. It holds per-hour totals only: jobs are counted, deduplicated and listed by the hour shards
/// (<see cref="IUsageHourGrain"/>), which set their hour's totals here.
/// </summary>
[Alias("builtiful.usage")]
public interface IUsageGrain : IGrainWithStringKey
{
    /// <summary>
    /// Sets one hour's totals, pushed by the hour's <see cref="IUsageHourGrain"/> after its writes. Idempotent: the hour's
    /// totals are replaced, never added to, and totals of fewer jobs than those held are older ones arriving late (an
    /// hour's jobs are only ever added), so they are ignored. Answered once stored; calls interleave, and those made while
    /// the day's write is in flight are stored together by the next one.
    /// </summary>
    [AlwaysInterleave, Alias("set-hour")]
    Task SetHour(int hourIndex, UsageHourTotals totals);

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
