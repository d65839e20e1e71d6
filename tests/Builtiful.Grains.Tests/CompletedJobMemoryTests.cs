using Builtiful.Jobs;
using Builtiful.Leases;

namespace Builtiful.Grains.Tests;

/// <summary>
/// What a job leaves in a silo's memory. Job and VmLease grains are the per-job activations (about 2 KB of Orleans
/// bookkeeping each): once the job has completed and its VM is gone, neither may stay activated until Orleans' idle
/// collection (15 minutes by default), and the lease's deadline reminder must be gone with its VM. While the job waits
/// for its VM or an approval, only the lease stays activated: the job's record is stored and its next delivery reads it.
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

    [Fact]
    public async Task A_job_waiting_for_its_vm_or_an_approval_keeps_no_activation_and_its_next_delivery_reads_it_back()
    {
        var installationId = await world.InstallAsync();
        var management = world.Client.GetGrain<IManagementGrain>(0);
        var jobId = LifecycleCluster.NewJobId();
        var job = ((GrainReference)world.Job(jobId)).GrainId;

        // Behind an environment's approval: stored, no VM, no activation.
        Assert.Equal(JobEventOutcome.Applied, await world.Job(jobId).Apply(LifecycleCluster.JobEvent(jobId, installationId, JobStatus.Waiting)));
        await Eventually.Until(async () => await management.GetActiveGrains(job.Type), active => !active.Contains(job), $"job {jobId} deactivated while it awaits approval");

        // Approved: its VM boots, watched through the lease (asking the job would activate it); the job's activation is gone.
        var leaseId = await world.QueueAsync(jobId, installationId);
        await world.LeaseReaches(leaseId, LeasePhase.Booting);
        var lease = ((GrainReference)world.Lease(leaseId)).GrainId;
        var active = await Eventually.Until(
            async () => (Jobs: await management.GetActiveGrains(job.Type), Leases: await management.GetActiveGrains(lease.Type)),
            a => !a.Jobs.Contains(job),
            $"job {jobId} deactivated while its VM boots");
        Assert.Contains(lease, active.Leases);

        // The runner's in_progress reads the record back and binds the lease; the activation then holds the in_progress that
        // is not written on its own, so it stays until the job completes.
        var runner = RunnerNames.ForLease(leaseId);
        Assert.Equal(JobEventOutcome.Applied, await world.Job(jobId).Apply(LifecycleCluster.JobEvent(jobId, installationId, JobStatus.InProgress, runnerName: runner)));
        Assert.Equal(jobId, (await world.Lease(leaseId).GetView())!.JobId);
        Assert.Contains(job, await management.GetActiveGrains(job.Type));
        var view = (await world.Job(jobId).GetView())!;
        Assert.Equal((JobStatus.InProgress, leaseId, installationId), (view.Status, view.LeaseId, view.InstallationId));
        Assert.NotNull(view.QueuedAt);
    }
}
