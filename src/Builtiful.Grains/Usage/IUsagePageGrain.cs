using Orleans.Concurrency;

namespace Builtiful.Usage;

/// <summary>
/// One sealed page of an hour shard's counted jobs, keyed <c>{usage hour key}/{page number}</c> (see
/// <see cref="UsagePage.Key"/>). Only its <see cref="UsageHourGrain"/> calls it.
/// </summary>
[Alias("builtiful.usage-page")]
public interface IUsagePageGrain : IGrainWithStringKey
{
    /// <summary>
    /// Stores the page's jobs, replacing what it held: a seal repeated after a crash writes the same jobs and any
    /// counted since, so the last seal of a page number wins.
    /// </summary>
    [Alias("write")]
    Task Write(IReadOnlyList<CountedJob> jobs);

    [ReadOnly, Alias("jobs")]
    Task<IReadOnlyList<CountedJob>> GetJobs();

    /// <summary>Retention: the job's minutes stay billed, its repository is dropped. False when nothing changed.</summary>
    [Alias("forget-job")]
    Task<bool> ForgetRepository(long jobId);
}

public static class UsagePage
{
    public static string Key(string hourKey, int page) =>
        string.Create(System.Globalization.CultureInfo.InvariantCulture, $"{hourKey}/{page}");
}
