using Builtiful.Telemetry;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Builtiful.Usage;

/// <summary>
/// One installation's counted jobs of one UTC hour. Counting is idempotent by job id here; after each write the
/// shard reports its hour's totals to the month's <see cref="IUsageGrain"/> as open (stored there once per activation;
/// the month asks an open hour's shard when it is read), and a retried call reports them again, so a crash between the
/// two converges on the retry. Deactivating, the shard reports its totals as settled.
/// </summary>
/// <remarks>
/// The shard's own state holds the open page: the last jobs counted, at most <see cref="UsageOptions.HourPageSize"/>.
/// A full page is sealed into a <see cref="IUsagePageGrain"/> written once, so a job's write is O(page), not O(hour).
/// Sealing writes the page first and then the shard (the page number is the count of pages the shard has stored):
/// a crash in between leaves the jobs on the open page, and the next seal writes the same page number again with
/// them and any counted since. An activation reads the sealed pages once for their job ids and totals.
/// </remarks>
public sealed partial class UsageHourGrain(
    [PersistentState("usage-hour", StorageNames.Grains)] IPersistentState<UsageHourState> state,
    IOptions<UsageOptions> options,
    ILogger<UsageHourGrain> logger) : Grain, IUsageHourGrain
{
    /// <summary>Pages read at once when an activation or a listing reads sealed pages.</summary>
    private const int PageReadsInFlight = 8;

    private UsageHourState Hour => state.State;

    /// <summary>The shard's writes, one at a time; jobs counted while one is in flight are stored together by the next.</summary>
    private readonly GroupCommit _commit = new();

    /// <summary>The pushes of the hour's totals to the month, one at a time and shared the same way.</summary>
    private readonly GroupCommit _push = new();

    /// <summary>The month holds this hour as open because of this activation: it hears the settled totals at the end.</summary>
    private bool _reported;

    /// <summary>A write failed: what storage holds is unknown here, so the settled totals are left to the next activation.</summary>
    private bool _uncertain;

    private (long InstallationId, string Month, int HourIndex)? parsedKey;

    /// <summary>The page of each job on a sealed page, read from the pages when the shard activates.</summary>
    private readonly Dictionary<long, int> sealedJobs = [];

    /// <summary>The hour's totals, added up once per activation and then one counted job at a time.</summary>
    private readonly UsageHourTotals.Tally tally = new();

    private (long InstallationId, string Month, int HourIndex) Key => parsedKey ??= UsageHour.ParseKey(this.GetPrimaryKeyString());

    private IUsageGrain Month => GrainFactory.Reference<IUsageGrain>(UsageMonth.Key(Key.InstallationId, Key.Month));

    private int PageSize => Math.Max(1, options.Value.HourPageSize);

    public override async Task OnActivateAsync(CancellationToken cancellationToken)
    {
        var pages = await ReadPagesAsync(Enumerable.Range(0, Hour.Pages.Count).ToList());
        foreach (var (page, jobs) in pages)
        {
            foreach (var job in jobs)
            {
                // Defensive: a seal only moves the open page, whose jobs are on no page yet.
                if (sealedJobs.TryAdd(job.JobId, page))
                {
                    Add(tally, job);
                }
            }
        }

        foreach (var job in Hour.Jobs.Values)
        {
            Add(tally, job);
        }
    }

    public async Task<bool> Record(JobRun run)
    {
        ArgumentNullException.ThrowIfNull(run);
        var key = this.GetPrimaryKeyString();
        if (UsageHour.Key(Key.InstallationId, run.CompletedAt) != key)
        {
            throw new ArgumentException($"Job {run.JobId} completed at {run.CompletedAt:O}, outside usage hour {key}.", nameof(run));
        }

        if (IsCounted(run.JobId))
        {
            // Counted already, or being stored by a write queued so far; the retry may come from a crash before the
            // month heard of it.
            await _commit.Settled;
            await PushTotals();
            return false;
        }

        var counted = CountedJob.From(run);
        Hour.Jobs.Add(run.JobId, counted);
        try
        {
            await _commit.WriteAsync(StoreAsync);
        }
        catch
        {
            // Not counted: its caller's retry counts it. A write carries whatever was decided when it started, so this
            // activation may no longer know what storage holds; the next one reads it.
            Hour.Jobs.Remove(run.JobId);
            _uncertain = true;
            DeactivateOnIdle();
            throw;
        }

        Add(tally, counted);
        BuiltifulMetrics.RecordCompletedJob(counted.MachineType, counted.QueueTime, counted.BillableMinutes);
        LogCounted(logger, run.JobId, key, counted.BillableMinutes, counted.MachineType);
        await PushTotals();
        return true;
    }

    public async Task<bool> ForgetRepository(long jobId)
    {
        var changed = false;
        if (Hour.Jobs.TryGetValue(jobId, out var open))
        {
            if (open.Repository is not null)
            {
                Hour.Jobs[jobId] = open with { Repository = null };
                try
                {
                    await _commit.WriteAsync(StoreAsync);
                }
                catch
                {
                    _uncertain = true;
                    DeactivateOnIdle();
                    throw;
                }

                changed = true;
            }
        }
        else if (sealedJobs.TryGetValue(jobId, out var page))
        {
            changed = await Page(page).ForgetRepository(jobId);
        }

        return changed;
    }

    public Task<UsageHourTotals> GetTotals()
    {
        // Asked by the month for an hour it holds as open: it is settled by this activation's end.
        _reported = true;
        return Task.FromResult(tally.ToTotals());
    }

    /// <summary>
    /// Settles the hour at the month with the totals of every job stored, unless a write failed (the next activation,
    /// which reads storage, reports then). Best effort: a report lost here leaves the hour open, and the month's next
    /// read asks a new activation of this shard.
    /// </summary>
    public override async Task OnDeactivateAsync(DeactivationReason reason, CancellationToken cancellationToken)
    {
        if (!_reported || _uncertain)
        {
            return;
        }

        try
        {
            await _push.Settled;
            await Month.ReportHour(Key.HourIndex, tally.ToTotals(), settled: true).WaitAsync(cancellationToken);
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            LogSettleFailed(logger, this.GetPrimaryKeyString(), ex.Message);
        }
    }

    /// <summary>
    /// Newest first. The open page is in memory; sealed pages are read newest first, by the latest completion on each,
    /// until the jobs asked for are known to come before everything on the pages not read.
    /// </summary>
    public async Task<JobRunPage> GetRuns(int offset, int limit)
    {
        // Taken before the first await: a count interleaved with this listing may seal the open page meanwhile.
        var candidates = Hour.Jobs.Values.ToList();
        var total = sealedJobs.Count + candidates.Count;
        var pages = Hour.Pages.Select((newest, page) => (Page: page, Newest: newest)).OrderByDescending(p => p.Newest).ToList();
        var skip = Math.Max(0, offset);
        var take = Math.Max(0, limit);
        var wanted = (long)skip + take;
        var read = 0;
        while (read < pages.Count && take > 0)
        {
            var unreadNewest = pages[read].Newest;
            if (candidates.Count(j => j.CompletedAt.UtcTicks > unreadNewest) >= wanted)
            {
                break;
            }

            var batch = pages.Skip(read).Take(PageReadsInFlight).Select(p => p.Page).ToList();
            foreach (var (_, jobs) in await ReadPagesAsync(batch))
            {
                candidates.AddRange(jobs);
            }

            read += batch.Count;
        }

        IReadOnlyList<JobRun> items =
        [
            .. candidates.OrderByDescending(j => j.CompletedAt).ThenByDescending(j => j.JobId).Skip(skip).Take(take).Select(j => j.ToRun()),
        ];
        return new JobRunPage(items, total);
    }

    /// <summary>
    /// One group write: the shard's state as it is when the write starts, sealing the open page first when it is full.
    /// </summary>
    private Task StoreAsync() => Hour.Jobs.Count >= PageSize ? SealAsync() : state.WriteStateAsync();

    /// <summary>
    /// Moves the open page, as it is when the seal starts, to the next page number: the page's write first, then the
    /// shard's. Jobs counted while the page is written stay on the open page for the next write. If the shard's write is
    /// refused, the sealed jobs go back on the open page and the next seal writes the same page number again.
    /// </summary>
    private async Task SealAsync()
    {
        var page = Hour.Pages.Count;
        var jobs = Hour.Jobs.Values.ToList();
        await Page(page).Write(jobs);

        // Moved in one step, before the shard's write: a record of one of these jobs interleaved with that write finds it
        // counted (on the page), never on neither.
        Hour.Pages.Add(jobs.Max(j => j.CompletedAt.UtcTicks));
        foreach (var job in jobs)
        {
            Hour.Jobs.Remove(job.JobId);
            sealedJobs[job.JobId] = page;
        }

        try
        {
            await state.WriteStateAsync();
        }
        catch
        {
            Hour.Pages.RemoveAt(page);
            foreach (var job in jobs)
            {
                sealedJobs.Remove(job.JobId);
                Hour.Jobs.TryAdd(job.JobId, job);
            }

            throw;
        }

        LogSealed(logger, this.GetPrimaryKeyString(), page, jobs.Count);
    }

    private bool IsCounted(long jobId) => Hour.Jobs.ContainsKey(jobId) || sealedJobs.ContainsKey(jobId);

    private IUsagePageGrain Page(int page) => GrainFactory.Reference<IUsagePageGrain>(UsagePage.Key(this.GetPrimaryKeyString(), page));

    private async Task<List<(int Page, IReadOnlyList<CountedJob> Jobs)>> ReadPagesAsync(List<int> pages)
    {
        var read = new List<(int, IReadOnlyList<CountedJob>)>(pages.Count);
        foreach (var chunk in pages.Chunk(PageReadsInFlight))
        {
            var jobs = await Task.WhenAll(chunk.Select(page => Page(page).GetJobs()));
            read.AddRange(chunk.Zip(jobs));
        }

        return read;
    }

    /// <summary>
    /// Reports the hour's totals to the month as open. Pushes asked for while one is in flight share the next, which
    /// takes the totals when it starts: every job counted before the ask is in them.
    /// </summary>
    private Task PushTotals()
    {
        _reported = true;
        return _push.WriteAsync(() => Month.ReportHour(Key.HourIndex, tally.ToTotals(), settled: false));
    }

    internal static UsageHourTotals Totals(IEnumerable<CountedJob> jobs)
    {
        var totals = new UsageHourTotals.Tally();
        foreach (var job in jobs)
        {
            Add(totals, job);
        }

        return totals.ToTotals();
    }

    private static void Add(UsageHourTotals.Tally totals, CountedJob job) =>
        totals.Add(job.MachineType, job.BillableMinutes, job.Conclusion, job.QueueTime, job.Duration);

    [LoggerMessage(Level = LogLevel.Information, Message = "Job {JobId} counted in usage {UsageKey}: {Minutes} min on {MachineType}")]
    private static partial void LogCounted(ILogger logger, long jobId, string usageKey, long minutes, string machineType);

    [LoggerMessage(Level = LogLevel.Information, Message = "Usage {UsageKey} could not settle its totals at the month ({Reason}); the month's next read asks the shard")]
    private static partial void LogSettleFailed(ILogger logger, string usageKey, string reason);

    [LoggerMessage(Level = LogLevel.Debug, Message = "Usage {UsageKey} sealed page {Page} with {Jobs} jobs")]
    private static partial void LogSealed(ILogger logger, string usageKey, int page, int jobs);
}
