using Orleans.Concurrency;

namespace Builtiful.Usage;

/// <summary>
/// Billable usage and execution metrics of one installation in one calendar month (UTC), keyed
/// <c>{installationId}:{yyyy-MM}</c> (see <see cref="UsageMonth"/>). Outlives the installation: usage is billed after
/// an uninstall too.
/// </summary>
[Alias("builtiful.usage")]
public interface IUsageGrain : IGrainWithStringKey
{
    /// <summary>Counts a completed job that ran on one of our VMs. Idempotent by job id: false when it was already counted.</summary>
    [Alias("record")]
    Task<bool> Record(JobRun run);

    /// <summary>Retention: the job's minutes stay billed, its repository is dropped. False when nothing changed.</summary>
    [Alias("forget-job")]
    Task<bool> ForgetRepository(long jobId);

    [ReadOnly, AlwaysInterleave, Alias("view")]
    Task<UsageView> GetView();

    /// <summary>The month's counted jobs, most recently completed first.</summary>
    [ReadOnly, AlwaysInterleave, Alias("runs")]
    Task<JobRunPage> GetRuns(int offset, int limit);
}
