using Builtiful.Telemetry;
using Microsoft.Extensions.Logging;

namespace Builtiful.Usage;

/// <summary>
/// One installation's counted jobs of one UTC hour. Counting is idempotent by job id here; after each write the
/// shard sets its hour's totals on the month's <see cref="IUsageGrain"/>, and a retried call sets them again, so a
/// crash between the two writes converges on the retry.
/// </summary>
public sealed partial class UsageHourGrain(
    [PersistentState("usage-hour", StorageNames.Grains)] IPersistentState<UsageHourState> state,
    ILogger<UsageHourGrain> logger) : Grain, IUsageHourGrain
{
    private UsageHourState Hour => state.State;

    /// <summary>Jobs counted before sharding were taken over in this activation and the month still holds copies.</summary>
    private bool legacyPending;

    private (long InstallationId, string Month, int HourIndex)? parsedKey;

    /// <summary>The hour's totals, added up once per activation and then one counted job at a time.</summary>
    private UsageHourTotals.Tally? tally;

    private UsageHourTotals.Tally Tally => tally ??= TallyOf(Hour.Jobs.Values);

    private (long InstallationId, string Month, int HourIndex) Key => parsedKey ??= UsageHour.ParseKey(this.GetPrimaryKeyString());

    private IUsageGrain Month => GrainFactory.GetGrain<IUsageGrain>(UsageMonth.Key(Key.InstallationId, Key.Month));

    public override async Task OnActivateAsync(CancellationToken cancellationToken)
    {
        if (Hour.LegacyTaken)
        {
            return;
        }

        // Jobs of this hour counted before usage was sharded by hour, written here with this shard's next write. The
        // month keeps its copies until this shard sets the hour's totals; until then each activation asks again.
        var legacy = await Month.LegacyRuns(Key.HourIndex);
        foreach (var run in legacy)
        {
            Hour.Jobs.TryAdd(run.JobId, CountedJob.From(run) with { BillableMinutes = run.BillableMinutes });
        }

        legacyPending = legacy.Count > 0;
        Hour.LegacyTaken = legacy.Count == 0;
    }

    public async Task<bool> Record(JobRun run)
    {
        ArgumentNullException.ThrowIfNull(run);
        var key = this.GetPrimaryKeyString();
        if (UsageHour.Key(Key.InstallationId, run.CompletedAt) != key)
        {
            throw new ArgumentException($"Job {run.JobId} completed at {run.CompletedAt:O}, outside usage hour {key}.", nameof(run));
        }

        if (Hour.Jobs.ContainsKey(run.JobId))
        {
            // Counted already; the retry may come from a crash before the month heard of it.
            await PushTotals();
            return false;
        }

        var counted = CountedJob.From(run);
        var totals = Tally; // added up before this job joins the hour, so it is counted once
        Hour.Jobs[run.JobId] = counted;
        Add(totals, counted);
        await state.WriteStateAsync();
        BuiltifulMetrics.RecordCompletedJob(counted.MachineType, counted.QueueTime, counted.BillableMinutes);
        LogCounted(logger, run.JobId, key, counted.BillableMinutes, counted.MachineType);
        await PushTotals();
        return true;
    }

    public async Task<bool> ForgetRepository(long jobId)
    {
        var changed = Hour.Jobs.TryGetValue(jobId, out var counted) && counted.Repository is not null;
        if (changed)
        {
            Hour.Jobs[jobId] = counted! with { Repository = null };
            await state.WriteStateAsync();
        }

        if (legacyPending)
        {
            // The totals do not depend on the repository, but the month's copies of jobs counted before sharding
            // do: setting the hour's totals makes the month drop its copies of this hour's jobs.
            await PushTotals();
        }

        return changed;
    }

    public Task<JobRunPage> GetRuns(int offset, int limit)
    {
        IReadOnlyList<JobRun> page =
        [
            .. Hour.Jobs.Values.OrderByDescending(j => j.CompletedAt).ThenByDescending(j => j.JobId)
                .Skip(Math.Max(0, offset)).Take(Math.Max(0, limit)).Select(j => j.ToRun()),
        ];
        return Task.FromResult(new JobRunPage(page, Hour.Jobs.Count));
    }

    private async Task PushTotals()
    {
        await Month.SetHour(Key.HourIndex, Tally.ToTotals());
        legacyPending = false;
    }

    internal static UsageHourTotals Totals(IEnumerable<CountedJob> jobs) => TallyOf(jobs).ToTotals();

    private static UsageHourTotals.Tally TallyOf(IEnumerable<CountedJob> jobs)
    {
        var totals = new UsageHourTotals.Tally();
        foreach (var job in jobs)
        {
            Add(totals, job);
        }

        return totals;
    }

    private static void Add(UsageHourTotals.Tally totals, CountedJob job) =>
        totals.Add(job.MachineType, job.BillableMinutes, job.Conclusion, job.QueueTime, job.Duration);

    [LoggerMessage(Level = LogLevel.Information, Message = "Job {JobId} counted in usage {UsageKey}: {Minutes} min on {MachineType}")]
    private static partial void LogCounted(ILogger logger, long jobId, string usageKey, long minutes, string machineType);
}
