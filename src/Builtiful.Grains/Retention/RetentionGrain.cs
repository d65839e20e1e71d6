using Builtiful.Jobs;
using Builtiful.Leases;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Builtiful.Retention;

public sealed partial class RetentionGrain(
    [PersistentState("retention", StorageNames.Grains)] IPersistentState<RetentionState> state,
    IOptions<RetentionOptions> options,
    [FromKeyedServices(BuiltifulClock.Key)] TimeProvider time,
    ILogger<RetentionGrain> logger) : Grain, IRetentionGrain, IRemindable
{
    internal const string Reminder = "retention";

    private bool _armed;

    private List<DateTimeOffset> Hours => state.State.Hours;

    private RetentionOptions Options => options.Value;

    public async Task Track(DateTimeOffset hour)
    {
        hour = RetentionKeys.HourOf(hour);
        var index = Hours.BinarySearch(hour);
        if (index < 0)
        {
            Hours.Insert(~index, hour);
            await state.WriteStateAsync();
        }

        if (!_armed)
        {
            if (await this.GetReminder(Reminder) is null)
            {
                await this.RegisterOrUpdateReminder(Reminder, Options.SweepPeriod, Options.SweepPeriod);
            }

            _armed = true;
        }
    }

    public async Task ReceiveReminder(string reminderName, TickStatus status)
    {
        try
        {
            var report = await Sweep();
            if (Hours.Count == 0 && await this.GetReminder(Reminder) is { } reminder)
            {
                // Nothing left to delete: the next record of this installation arms the reminder again.
                await this.UnregisterReminder(reminder);
                _armed = false;
            }

            if (report.JobsDeleted + report.LeasesDeleted > 0)
            {
                LogSwept(logger, this.GetPrimaryKeyLong(), report.JobsDeleted, report.LeasesDeleted, report.Kept, report.MoreDue);
            }
        }
        catch (Exception ex)
        {
            // The next tick carries on where this one stopped: every step is idempotent.
            LogSweepFailed(logger, this.GetPrimaryKeyLong(), ex.Message);
        }
    }

    public async Task<RetentionReport> Sweep()
    {
        var installationId = this.GetPrimaryKeyLong();
        var now = time.GetUtcNow();
        var cutoff = now - Options.JobMetadata;
        var abandonedBefore = now - (Options.JobMetadata > RetentionOptions.LongestWorkflowRun ? Options.JobMetadata : RetentionOptions.LongestWorkflowRun);
        var budget = Options.MaxRecordsPerSweep;
        int jobsDeleted = 0, leasesDeleted = 0;
        var keptJobs = new List<long>();
        var keptLeases = new List<Guid>();
        var changed = false;

        // An hour is due once all of it is older than the cutoff: a record is deleted at most an hour and a sweep late.
        while (budget > 0 && Hours.Count > 0 && Hours[0] + TimeSpan.FromHours(1) <= cutoff)
        {
            var remaining = 0;
            var taken = 0;
            for (var shard = 0; shard < RetentionKeys.Shards; shard++)
            {
                var hour = GrainFactory.Reference<IRetentionHourGrain>(RetentionKeys.Hour(installationId, Hours[0], shard));
                while (true)
                {
                    if (budget <= 0)
                    {
                        // Out of budget: only whether the shard still holds records matters, for the next sweep.
                        remaining += await hour.Remove(new RetentionBatch([], []));
                        break;
                    }

                    // A shard hands its records out a page at a time: taken again until it is empty or the budget is spent.
                    var batch = await hour.Take(budget);
                    if (batch.Count == 0)
                    {
                        break;
                    }

                    foreach (var jobId in batch.Jobs)
                    {
                        switch (await GrainFactory.Reference<IJobGrain>(jobId).Forget(abandonedBefore))
                        {
                            case RetentionOutcome.Deleted: jobsDeleted++; break;
                            case RetentionOutcome.Kept: keptJobs.Add(jobId); break;
                        }
                    }

                    foreach (var leaseId in batch.Leases)
                    {
                        switch (await GrainFactory.Reference<IVmLeaseGrain>(leaseId).Forget())
                        {
                            case RetentionOutcome.Deleted: leasesDeleted++; break;
                            case RetentionOutcome.Kept: keptLeases.Add(leaseId); break;
                        }
                    }

                    budget -= batch.Count;
                    taken += batch.Count;
                    if (await hour.Remove(batch) is var left && left == 0)
                    {
                        break;
                    }

                    if (budget <= 0)
                    {
                        remaining += left;
                        break;
                    }
                }
            }

            if (remaining > 0)
            {
                break;
            }

            // Every shard of the hour is empty (an empty shard costs one read, once). An hour that held nothing still
            // counts against the bound, so a sweep over a long run of empty hours stays bounded too.
            Hours.RemoveAt(0);
            changed = true;
            budget -= taken == 0 ? 1 : 0;
        }

        if (keptJobs.Count + keptLeases.Count > 0)
        {
            // Still live: moved to the current hour, looked at again once that hour is due.
            foreach (var jobId in keptJobs)
            {
                await GrainFactory.Reference<IRetentionHourGrain>(RetentionKeys.Current(installationId, now)).AddJob(jobId);
            }

            foreach (var leaseId in keptLeases)
            {
                await GrainFactory.Reference<IRetentionHourGrain>(RetentionKeys.Current(installationId, now)).AddLease(leaseId);
            }

            var hourNow = RetentionKeys.HourOf(now);
            var index = Hours.BinarySearch(hourNow);
            if (index < 0)
            {
                Hours.Insert(~index, hourNow);
                changed = true;
            }
        }

        if (changed)
        {
            await state.WriteStateAsync();
        }

        var moreDue = Hours.Count > 0 && Hours[0] + TimeSpan.FromHours(1) <= cutoff;
        return new RetentionReport(jobsDeleted, leasesDeleted, keptJobs.Count + keptLeases.Count, moreDue);
    }

    public Task<IReadOnlyList<DateTimeOffset>> PendingHours() => Task.FromResult<IReadOnlyList<DateTimeOffset>>([.. Hours]);

    [LoggerMessage(Level = LogLevel.Information, Message = "Retention for installation {InstallationId}: {Jobs} jobs and {Leases} leases deleted, {Kept} still live kept, more due: {MoreDue}")]
    private static partial void LogSwept(ILogger logger, long installationId, int jobs, int leases, int kept, bool moreDue);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Retention sweep for installation {InstallationId} failed and will run again: {Error}")]
    private static partial void LogSweepFailed(ILogger logger, long installationId, string error);
}
