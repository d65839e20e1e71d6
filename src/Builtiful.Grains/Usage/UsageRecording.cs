using Builtiful.Jobs;
using Builtiful.Leases;

namespace Builtiful.Usage;

/// <summary>What a completed job hands to its month's usage: only jobs that ran on one of our VMs are billed.</summary>
internal static class UsageRecording
{
    public static async Task RecordAsync(IGrainFactory grains, long jobId, JobState job, WorkflowJobEvent completed)
    {
        // A completed delivery may be the first we hear of the start (in_progress lost), so its started_at counts too.
        var startedAt = job.StartedAt ?? completed.StartedAt;
        if (job.LeaseId is not { } leaseId || job.InstallationId == 0 || startedAt is not { } started || job.CompletedAt is not { } done)
        {
            return;
        }

        // A job whose queued delivery was lost never asked for a machine type; the VM it ran on knows what was billed.
        var machineType = job.MachineType ?? (await grains.Reference<IVmLeaseGrain>(leaseId).GetView())?.MachineType;
        if (machineType is null)
        {
            return;
        }

        await grains.Reference<IUsageHourGrain>(UsageHour.Key(job.InstallationId, done)).Record(new JobRun
        {
            JobId = jobId,
            MachineType = machineType,
            LeaseId = leaseId,
            QueuedAt = job.QueuedAt,
            StartedAt = started,
            CompletedAt = done,
            Conclusion = job.Conclusion,
            Repository = job.Repository,
            BillableMinutes = JobRun.MinutesBetween(started, done),
        });
    }
}
