using Orleans.Concurrency;

namespace Builtiful.Usage;

/// <summary>
/// The counted jobs of one installation that completed in one UTC hour, keyed <c>{installationId}:{yyyy-MM-ddTHH}</c>
/// (see <see cref="UsageHour"/>). Counting is idempotent here, by job id; after every call that may have changed
/// something the shard reports its hour's totals to its month's <see cref="IUsageGrain"/> (as open: the month stores
/// that once and asks the shard when read), and as settled when it deactivates, so a retry after a crash between the
/// two converges. A write is O(jobs in the hour), not O(jobs in the month).
/// </summary>
[Alias("builtiful.usage-hour")]
public interface IUsageHourGrain : IGrainWithStringKey
{
    /// <summary>
    /// Counts a completed job that ran on one of our VMs; the job must have completed in this shard's hour.
    /// Idempotent by job id: false when it was already counted (the hour's totals are pushed again all the same).
    /// Answered once stored; calls interleave, and those made while the shard's write is in flight are stored together
    /// by the next one, so a burst of jobs completing in one installation writes the shard per batch, not per job.
    /// </summary>
    [AlwaysInterleave, Alias("record")]
    Task<bool> Record(JobRun run);

    /// <summary>Retention: the job's minutes stay billed, its repository is dropped. False when nothing changed.</summary>
    [Alias("forget-job")]
    Task<bool> ForgetRepository(long jobId);

    /// <summary>The totals of the jobs this shard has stored: what its month asks for an hour it holds as open.</summary>
    [ReadOnly, AlwaysInterleave, Alias("totals")]
    Task<UsageHourTotals> GetTotals();

    /// <summary>The hour's counted jobs, most recently completed first.</summary>
    [ReadOnly, AlwaysInterleave, Alias("runs")]
    Task<JobRunPage> GetRuns(int offset, int limit);
}
