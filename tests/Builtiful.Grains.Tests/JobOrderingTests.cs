using Builtiful.Jobs;
using Builtiful.Leases;

namespace Builtiful.Grains.Tests;

/// <summary>GitHub duplicates and reorders deliveries; the state machines only move forward.</summary>
public sealed class JobOrderingTests(LifecycleCluster world) : IClassFixture<LifecycleCluster>
{
    [Fact]
    public async Task A_duplicate_queued_delivery_launches_no_second_VM()
    {
        var installationId = await world.InstallAsync();
        var jobId = LifecycleCluster.NewJobId();
        var leaseId = await world.QueueAsync(jobId, installationId);
        await world.LeaseReaches(leaseId, LeasePhase.Booting);

        var again = await world.Job(jobId).Apply(LifecycleCluster.JobEvent(jobId, installationId, JobStatus.Queued));

        Assert.Equal(JobEventOutcome.Ignored, again);
        var organisation = await world.Organisation(installationId).GetView();
        Assert.Equal([leaseId], organisation.LeaseIds);
        Assert.Single(world.Compute.Vms, v => v.Tags[Providers.InstanceTags.Installation] == installationId.ToString(System.Globalization.CultureInfo.InvariantCulture));
    }

    [Fact]
    public async Task Completed_before_queued_launches_nothing_and_stays_completed()
    {
        var installationId = await world.InstallAsync();
        var jobId = LifecycleCluster.NewJobId();

        await world.Job(jobId).Apply(LifecycleCluster.JobEvent(jobId, installationId, JobStatus.Completed, conclusion: "cancelled"));
        var late = await world.Job(jobId).Apply(LifecycleCluster.JobEvent(jobId, installationId, JobStatus.Queued));

        Assert.Equal(JobEventOutcome.Ignored, late);
        var job = (await world.Job(jobId).GetView())!;
        Assert.Equal(JobStatus.Completed, job.Status);
        Assert.Equal("cancelled", job.Conclusion);
        Assert.Null(job.LeaseId);
        Assert.Equal(0, (await world.Organisation(installationId).GetView()).LiveLeases);
    }

    [Fact]
    public async Task A_skipped_job_that_arrives_only_as_completed_is_recorded_without_a_VM()
    {
        var installationId = await world.InstallAsync();
        var jobId = LifecycleCluster.NewJobId();

        var outcome = await world.Job(jobId).Apply(LifecycleCluster.JobEvent(jobId, installationId, JobStatus.Completed, conclusion: "skipped"));

        Assert.Equal(JobEventOutcome.Applied, outcome);
        var job = (await world.Job(jobId).GetView())!;
        Assert.Equal(JobStatus.Completed, job.Status);
        Assert.Equal("skipped", job.Conclusion);
        Assert.Equal(0, (await world.Organisation(installationId).GetView()).LiveLeases);
    }

    [Fact]
    public async Task In_progress_before_queued_launches_nothing_and_a_late_queued_is_ignored()
    {
        var installationId = await world.InstallAsync();
        var jobId = LifecycleCluster.NewJobId();

        await world.Job(jobId).Apply(LifecycleCluster.JobEvent(jobId, installationId, JobStatus.InProgress, runnerName: "someone else's runner"));
        var late = await world.Job(jobId).Apply(LifecycleCluster.JobEvent(jobId, installationId, JobStatus.Queued));

        Assert.Equal(JobEventOutcome.Ignored, late);
        Assert.Equal(JobStatus.InProgress, (await world.Job(jobId).GetView())!.Status);
        Assert.Equal(0, (await world.Organisation(installationId).GetView()).LiveLeases);
    }

    [Fact]
    public async Task A_duplicate_completed_after_termination_changes_nothing()
    {
        var installationId = await world.InstallAsync();
        var jobId = LifecycleCluster.NewJobId();
        var leaseId = await world.QueueAsync(jobId, installationId);
        await world.LeaseReaches(leaseId, LeasePhase.Booting);
        var runner = RunnerNames.ForLease(leaseId);
        await world.RunOnLeaseAsync(jobId, installationId, leaseId);
        var terminated = await world.LeaseReaches(leaseId, LeasePhase.Terminated);

        var duplicate = await world.Job(jobId).Apply(LifecycleCluster.JobEvent(jobId, installationId, JobStatus.Completed, runnerName: runner, conclusion: "failure"));

        Assert.Equal(JobEventOutcome.Ignored, duplicate);
        Assert.Equal("success", (await world.Job(jobId).GetView())!.Conclusion);
        Assert.Equal(terminated, await world.Lease(leaseId).GetView());
    }

    [Fact]
    public async Task A_job_that_takes_another_jobs_runner_hands_its_own_VM_to_that_job()
    {
        var installationId = await world.InstallAsync();
        var first = LifecycleCluster.NewJobId();
        var second = LifecycleCluster.NewJobId();
        var firstLease = await world.QueueAsync(first, installationId);
        var secondLease = await world.QueueAsync(second, installationId);
        await world.LeaseReaches(firstLease, LeasePhase.Booting);

        // A just-in-time runner takes any queued job with matching labels: here the second job takes the first job's VM.
        await world.Job(second).Apply(LifecycleCluster.JobEvent(second, installationId, JobStatus.InProgress, runnerName: RunnerNames.ForLease(firstLease)));
        await world.Job(second).Apply(LifecycleCluster.JobEvent(second, installationId, JobStatus.Completed, runnerName: RunnerNames.ForLease(firstLease), conclusion: "success"));

        Assert.Equal(firstLease, (await world.Job(second).GetView())!.LeaseId);
        await world.LeaseReaches(firstLease, LeasePhase.Terminated);
        var pending = await world.Organisation(installationId).GetPendingJobs();
        Assert.Equal(first, Assert.Single(pending).JobId);
        Assert.NotEqual(LeasePhase.Terminating, (await world.Lease(secondLease).GetView())!.Phase);
        Assert.Null((await world.Lease(secondLease).GetView())!.TerminatedAt);

        await world.Job(first).Apply(LifecycleCluster.JobEvent(first, installationId, JobStatus.InProgress, runnerName: RunnerNames.ForLease(secondLease)));
        Assert.Equal(secondLease, (await world.Job(first).GetView())!.LeaseId);
        Assert.Empty(await world.Organisation(installationId).GetPendingJobs());
    }
}
