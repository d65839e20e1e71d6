using Builtiful.Jobs;
using Builtiful.Leases;

namespace Builtiful.Grains.Tests;

/// <summary>
/// What a finished job leaves in a silo's memory. Job and VmLease grains are the per-job activations (about 5 KB of
/// Orleans bookkeeping each): once the job has completed and its VM is gone, neither may stay activated until Orleans'
/// idle collection (15 minutes by default), and the lease's deadline reminder must be gone with its VM.
/// </summary>
public sealed class CompletedJobMemoryTests(LifecycleCluster world) : IClassFixture<LifecycleCluster>
{
    [Fact]
    public async Task A_completed_job_leaves_neither_its_job_nor_its_lease_activated_nor_a_reminder()
    {
        var installationId = await world.InstallAsync();
        var jobId = LifecycleCluster.NewJobId();
        var leaseId = await world.QueueAsync(jobId, installationId);
        await world.LeaseReaches(leaseId, LeasePhase.Booting);
        var runner = RunnerNames.ForLease(leaseId);
        await world.Job(jobId).Apply(LifecycleCluster.JobEvent(jobId, installationId, JobStatus.InProgress, runnerName: runner));
        var job = ((GrainReference)world.Job(jobId)).GrainId;
        var lease = ((GrainReference)world.Lease(leaseId)).GrainId;
        var management = world.Client.GetGrain<IManagementGrain>(0);
        Assert.Contains(job, await management.GetActiveGrains(job.Type));
        Assert.Contains(lease, await management.GetActiveGrains(lease.Type));

        await world.Job(jobId).Apply(LifecycleCluster.JobEvent(jobId, installationId, JobStatus.Completed, runnerName: runner, conclusion: "success"));

        // Watched from outside, through the management grain and the reminder table: asking either grain would activate it.
        await Eventually.Until(
            async () => (Jobs: await management.GetActiveGrains(job.Type), Leases: await management.GetActiveGrains(lease.Type)),
            active => !active.Jobs.Contains(job) && !active.Leases.Contains(lease),
            $"job {jobId} and lease {leaseId} deactivated after the job completed");
        Assert.Empty((await world.Reminders.ReadRows(lease)).Reminders);
        Assert.All(world.Compute.Vms.Where(v => v.LeaseId == leaseId), v => Assert.Equal(Providers.InstanceState.Terminated, v.State));

        // Their records stay in storage: the job answers from it when asked again.
        Assert.Equal(JobStatus.Completed, (await world.Job(jobId).GetView())!.Status);
        Assert.Equal(LeasePhase.Terminated, (await world.Lease(leaseId).GetView())!.Phase);
    }
}
