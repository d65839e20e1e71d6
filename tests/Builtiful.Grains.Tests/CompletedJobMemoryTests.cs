using Builtiful.Jobs;
using Builtiful.Leases;

namespace Builtiful.Grains.Tests;

/// <summary>
/// What a job leaves in a silo's memory. Job and VmLease grains are the per-job activations (about 2 KB of Orleans
/// bookkeeping each): once the job has completed and its VM is gone, neither may stay activated until Orleans' idle
/// collection (15 minutes by default), and the lease's deadline reminder must be gone with its VM. A job that waits for
/// an approval or in line keeps no activation either: its record is stored and its next delivery reads it back.
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
    public async Task A_job_awaiting_approval_or_in_line_keeps_no_activation_and_its_next_delivery_reads_it_back()
    {
        var installationId = await world.InstallAsync();
        var management = world.Client.GetGrain<IManagementGrain>(0);
        GrainId Of(long jobId) => ((GrainReference)world.Job(jobId)).GrainId;

        // Behind an environment's approval: stored, no VM, no activation.
        var approval = LifecycleCluster.NewJobId();
        var jobType = Of(approval).Type;
        async Task<List<GrainId>> ActiveJobs() => await management.GetActiveGrains(jobType);
        Assert.Equal(JobEventOutcome.Applied, await world.Job(approval).Apply(LifecycleCluster.JobEvent(approval, installationId, JobStatus.Waiting)));
        await Eventually.Until(ActiveJobs, active => !active.Contains(Of(approval)), $"job {approval} deactivated while it awaits approval");

        // Organisations:MaxConcurrentVms is 2 here: two jobs get a VM and keep their activation while it boots (their
        // runners' in_progress comes within the boot); the third waits in line without one.
        var first = LifecycleCluster.NewJobId();
        var second = LifecycleCluster.NewJobId();
        var firstLease = await world.QueueAsync(first, installationId);
        await world.QueueAsync(second, installationId);
        var inLine = LifecycleCluster.NewJobId();
        Assert.Equal(JobEventOutcome.Applied, await world.Job(inLine).Apply(LifecycleCluster.JobEvent(inLine, installationId, JobStatus.Queued)));
        Assert.Equal(1, (await world.Organisation(installationId).GetView()).WaitingJobs);
        var active = await Eventually.Until(ActiveJobs, a => !a.Contains(Of(inLine)), $"job {inLine} deactivated while it waits in line");
        Assert.Contains(Of(first), active);
        Assert.Contains(Of(second), active);

        // The first job ends and frees its slot; the organisation starts a VM for the job in line, whose runner's in_progress
        // then reads the job's record back and binds its lease.
        var firstRunner = RunnerNames.ForLease(firstLease);
        await world.Job(first).Apply(LifecycleCluster.JobEvent(first, installationId, JobStatus.InProgress, runnerName: firstRunner));
        await world.Job(first).Apply(LifecycleCluster.JobEvent(first, installationId, JobStatus.Completed, runnerName: firstRunner, conclusion: "success"));
        var leaseId = await Eventually.Until(
            () => world.LeaseLaunchedForAsync(inLine, installationId),
            id => id is not null,
            $"a VM started for job {inLine} once a slot is free");
        await world.LeaseReaches(leaseId!.Value, LeasePhase.Booting);
        Assert.DoesNotContain(Of(inLine), await ActiveJobs());
        var runner = RunnerNames.ForLease(leaseId.Value);
        Assert.Equal(JobEventOutcome.Applied, await world.Job(inLine).Apply(LifecycleCluster.JobEvent(inLine, installationId, JobStatus.InProgress, runnerName: runner)));
        Assert.Equal(inLine, (await world.Lease(leaseId.Value).GetView())!.JobId);
        var view = (await world.Job(inLine).GetView())!;
        Assert.Equal((JobStatus.InProgress, leaseId, installationId), (view.Status, view.LeaseId, view.InstallationId));
        Assert.NotNull(view.QueuedAt);
    }
}
