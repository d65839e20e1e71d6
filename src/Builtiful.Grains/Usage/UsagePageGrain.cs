namespace Builtiful.Usage;

/// <summary>
/// A sealed page of counted jobs (state <c>usage-page</c>). It is written when its shard seals it and again only
/// when retention drops a repository, and read when its shard activates or runs are listed: it leaves memory after
/// each call.
/// </summary>
public sealed class UsagePageGrain(
    [PersistentState("usage-page", StorageNames.Grains)] IPersistentState<UsagePageState> state) : Grain, IUsagePageGrain
{
    public async Task Write(IReadOnlyList<CountedJob> jobs)
    {
        ArgumentNullException.ThrowIfNull(jobs);
        state.State.Jobs = [.. jobs];
        await WriteAsync();
    }

    /// <summary>
    /// Read when its shard activates (all of the hour's pages at once) or an operator lists runs: either way it is not
    /// needed again soon, so it leaves memory after answering instead of waiting out the idle collection.
    /// </summary>
    public Task<IReadOnlyList<CountedJob>> GetJobs()
    {
        DeactivateOnIdle();
        return Task.FromResult<IReadOnlyList<CountedJob>>(state.State.Jobs);
    }

    public async Task<bool> ForgetRepository(long jobId)
    {
        var jobs = state.State.Jobs;
        var at = jobs.FindIndex(j => j.JobId == jobId);
        if (at < 0 || jobs[at].Repository is null)
        {
            return false;
        }

        jobs[at] = jobs[at] with { Repository = null };
        await WriteAsync();
        return true;
    }

    /// <summary>
    /// Written or not, the page leaves memory afterwards: it is rarely read again, and after a refused write the next
    /// call reads what storage holds instead of this activation's unwritten change.
    /// </summary>
    private async Task WriteAsync()
    {
        try
        {
            await state.WriteStateAsync();
        }
        finally
        {
            DeactivateOnIdle();
        }
    }
}
