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

    private (long InstallationId, string Month, int HourIndex) Key => UsageHour.ParseKey(this.GetPrimaryKeyString());

    private IUsageGrain Month => GrainFactory.GetGrain<IUsageGrain>(UsageMonth.Key(Key.InstallationId, Key.Month));

    public override async Task OnActivateAsync(CancellationToken cancellationToken)
    {
        if (Hour.LegacyTaken)
        {
            return;
        }

        // Jobs of this hour counted before usage was sharded by hour; recorded here on this shard's first write.
        foreach (var run in await Month.LegacyRuns(Key.HourIndex))
        {
            Hour.Jobs.TryAdd(run.JobId, CountedJob.From(run) with { BillableMinutes = run.BillableMinutes });
        }

        Hour.LegacyTaken = true;
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
            await Month.SetHour(Key.HourIndex, Totals(Hour.Jobs.Values));
            return false;
        }

        var counted = CountedJob.From(run);
        Hour.Jobs[run.JobId] = counted;
        await state.WriteStateAsync();
        BuiltifulMetrics.RecordCompletedJob(counted.MachineType, counted.QueueTime, counted.BillableMinutes);
        LogCounted(logger, run.JobId, key, counted.BillableMinutes, counted.MachineType);
        await Month.SetHour(Key.HourIndex, Totals(Hour.Jobs.Values));
        return true;
    }

    public async Task<bool> ForgetRepository(long jobId)
    {
        if (!Hour.Jobs.TryGetValue(jobId, out var counted) || counted.Repository is null)
        {
            return false;
        }

        // The totals do not depend on the repository: the month need not hear of it.
        Hour.Jobs[jobId] = counted with { Repository = null };
        await state.WriteStateAsync();
        return true;
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

    internal static UsageHourTotals Totals(IEnumerable<CountedJob> jobs) =>
        UsageHourTotals.Of(jobs.Select(j => (j.MachineType, j.BillableMinutes, j.Conclusion, j.QueueTime, j.Duration)));

    [LoggerMessage(Level = LogLevel.Information, Message = "Job {JobId} counted in usage {UsageKey}: {Minutes} min on {MachineType}")]
    private static partial void LogCounted(ILogger logger, long jobId, string usageKey, long minutes, string machineType);
}
