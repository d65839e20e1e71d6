using Builtiful.Telemetry;
using Microsoft.Extensions.Logging;

namespace Builtiful.Usage;

public sealed partial class UsageGrain(
    [PersistentState("usage", StorageNames.Grains)] IPersistentState<UsageState> state,
    ILogger<UsageGrain> logger) : Grain, IUsageGrain
{
    private UsageState Usage => state.State;

    public async Task<bool> Record(JobRun run)
    {
        ArgumentNullException.ThrowIfNull(run);
        if (Usage.Jobs.ContainsKey(run.JobId))
        {
            return false;
        }

        var counted = CountedJob.From(run);
        Usage.Jobs[run.JobId] = counted;
        await state.WriteStateAsync();
        BuiltifulMetrics.RecordCompletedJob(counted.MachineType, counted.QueueTime, counted.BillableMinutes);
        LogCounted(logger, run.JobId, this.GetPrimaryKeyString(), counted.BillableMinutes, counted.MachineType);
        return true;
    }

    public async Task<bool> ForgetRepository(long jobId)
    {
        if (!Usage.Jobs.TryGetValue(jobId, out var counted) || counted.Repository is null)
        {
            return false;
        }

        Usage.Jobs[jobId] = counted with { Repository = null };
        await state.WriteStateAsync();
        return true;
    }

    public Task<UsageView> GetView()
    {
        var (installationId, month) = UsageMonth.ParseKey(this.GetPrimaryKeyString());
        var jobs = Usage.Jobs.Values;
        var queueTimes = jobs.Select(j => j.QueueTime).OfType<TimeSpan>().Order().ToList();
        return Task.FromResult(new UsageView
        {
            Month = month,
            InstallationId = installationId,
            Minutes = jobs.GroupBy(j => j.MachineType, StringComparer.Ordinal)
                .OrderBy(g => g.Key, StringComparer.Ordinal)
                .ToDictionary(g => g.Key, g => g.Sum(j => j.BillableMinutes), StringComparer.Ordinal),
            Jobs = jobs.Count,
            JobsByMachineType = jobs.GroupBy(j => j.MachineType, StringComparer.Ordinal)
                .ToDictionary(g => g.Key, g => g.Count(), StringComparer.Ordinal),
            QueueTimeP50 = queueTimes.Count == 0 ? null : queueTimes[(queueTimes.Count - 1) / 2],
            QueueTimeAverage = queueTimes.Count == 0 ? null : TimeSpan.FromTicks((long)queueTimes.Average(t => t.Ticks)),
            DurationAverage = jobs.Count == 0 ? null : TimeSpan.FromTicks((long)jobs.Average(j => j.Duration.Ticks)),
            Conclusions = jobs.GroupBy(j => j.Conclusion ?? "unknown", StringComparer.Ordinal)
                .ToDictionary(g => g.Key, g => g.Count(), StringComparer.Ordinal),
        });
    }

    public Task<JobRunPage> GetRuns(int offset, int limit)
    {
        IReadOnlyList<JobRun> page =
        [
            .. Usage.Jobs.Values.OrderByDescending(j => j.CompletedAt).ThenByDescending(j => j.JobId)
                .Skip(Math.Max(0, offset)).Take(Math.Max(0, limit)).Select(j => j.ToRun()),
        ];
        return Task.FromResult(new JobRunPage(page, Usage.Jobs.Count));
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Job {JobId} counted in usage {UsageKey}: {Minutes} min on {MachineType}")]
    private static partial void LogCounted(ILogger logger, long jobId, string usageKey, long minutes, string machineType);
}
