using Builtiful.Jobs;
using Builtiful.Leases;
using Builtiful.Providers;
using Builtiful.Usage;

namespace Builtiful.Grains.Tests;

/// <summary>
/// A job's in_progress is not written on its own (docs/performance.md, "A job's in_progress rides its next write"): the
/// activation's end stores it, and a job that lost it (the silo died) still completes from GitHub's <c>completed</c>,
/// judged by the simulated cloud and the bill.
/// </summary>
public sealed class JobInProgressWriteTests(LeaseRestartTests.RefusingCluster world) : IClassFixture<LeaseRestartTests.RefusingCluster>
{
    [Fact]
    public async Task An_in_progress_is_stored_when_the_activation_goes()
    {
        var installationId = await world.InstallAsync();
        var jobId = LifecycleCluster.NewJobId();
        var leaseId = await world.QueueAsync(jobId, installationId);
        await world.LeaseReaches(leaseId, LeasePhase.Booting);
        var started = world.Clock.GetUtcNow();

        await world.Job(jobId).Apply(InProgress(jobId, installationId, leaseId, started));
        await world.ReloadEverythingAsync();

        var job = (await world.Job(jobId).GetView())!;
        Assert.Equal(JobStatus.InProgress, job.Status);
        Assert.Equal(leaseId, job.LeaseId);
        Assert.Equal(started, job.StartedAt);
    }

    [Fact]
    public async Task A_job_that_lost_its_unwritten_in_progress_completes_from_GitHubs_completed_its_VM_goes_and_it_is_billed_once()
    {
        var installationId = await world.InstallAsync();
        var jobId = LifecycleCluster.NewJobId();
        var leaseId = await world.QueueAsync(jobId, installationId);
        await world.LeaseReaches(leaseId, LeasePhase.Booting);
        var started = world.Clock.GetUtcNow();

        // The job's next write is refused: the in_progress is answered all the same (it writes nothing), and the write at
        // the activation's end fails, as if the silo had died first.
        world.Refusals.RefuseNext(((GrainReference)world.Job(jobId)).GrainId);
        Assert.Equal(JobEventOutcome.Applied, await world.Job(jobId).Apply(InProgress(jobId, installationId, leaseId, started)));
        Assert.Equal(LeasePhase.Busy, (await world.Lease(leaseId).GetView())!.Phase);
        await world.ReloadEverythingAsync();
        var reloaded = (await world.Job(jobId).GetView())!;
        Assert.Equal(JobStatus.Queued, reloaded.Status);
        Assert.Null(reloaded.LeaseId);

        // The lease stored the binding: the VM is not taken for idle while the job runs.
        Assert.Equal(LeasePhase.Busy, (await world.Lease(leaseId).GetView())!.Phase);

        world.Clock.Advance(TimeSpan.FromMinutes(3));
        var completed = LifecycleCluster.JobEvent(jobId, installationId, JobStatus.Completed, runnerName: RunnerNames.ForLease(leaseId), conclusion: "success") with { StartedAt = started };
        Assert.Equal(JobEventOutcome.Applied, await world.Job(jobId).Apply(completed));

        var vm = Assert.Single(world.Compute.Vms, v => v.LeaseId == leaseId);
        await world.LeaseReaches(leaseId, LeasePhase.Terminated);
        Assert.Equal(InstanceState.Terminated, vm.State);
        await Eventually.Until(async () => (await world.Organisation(installationId).GetView()).LeaseIds, ids => !ids.Contains(leaseId), "the organisation frees the slot");

        var job = (await world.Job(jobId).GetView())!;
        Assert.Equal(JobStatus.Completed, job.Status);
        Assert.Equal(leaseId, job.LeaseId);
        Assert.Equal(started, job.StartedAt);
        var usage = world.Client.GetGrain<IUsageGrain>(UsageMonth.Key(installationId, UsageMonth.Of(job.CompletedAt!.Value)));
        var runs = await Eventually.Until(async () => (await usage.GetRuns(0, 10)).Items, r => r.Any(run => run.JobId == jobId), $"job {jobId} is billed");
        var run = Assert.Single(runs, r => r.JobId == jobId);
        Assert.Equal(3, run.BillableMinutes);
    }

    private static WorkflowJobEvent InProgress(long jobId, long installationId, Guid leaseId, DateTimeOffset started) =>
        LifecycleCluster.JobEvent(jobId, installationId, JobStatus.InProgress, runnerName: RunnerNames.ForLease(leaseId)) with { StartedAt = started };
}
