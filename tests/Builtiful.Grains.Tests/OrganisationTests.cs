using Builtiful.Jobs;
using Builtiful.Leases;
using Builtiful.Organisations;
using Builtiful.Providers;

namespace Builtiful.Grains.Tests;

public sealed class OrganisationTests(LifecycleCluster world) : IClassFixture<LifecycleCluster>
{
    [Fact]
    public async Task Jobs_beyond_the_VM_limit_wait_in_line_and_start_first_in_first_out()
    {
        var installationId = await world.InstallAsync();
        long[] jobs = [.. Enumerable.Range(0, 4).Select(_ => LifecycleCluster.NewJobId())];
        var firstLease = await world.QueueAsync(jobs[0], installationId);
        await world.QueueAsync(jobs[1], installationId);
        await world.Job(jobs[2]).Apply(LifecycleCluster.JobEvent(jobs[2], installationId, JobStatus.Queued));
        await world.Job(jobs[3]).Apply(LifecycleCluster.JobEvent(jobs[3], installationId, JobStatus.Queued));

        var full = await world.Organisation(installationId).GetView();
        Assert.Equal(2, full.LiveLeases);
        Assert.Equal([jobs[2], jobs[3]], full.WaitingJobIds);

        await world.LeaseReaches(firstLease, LeasePhase.Booting);
        await world.RunOnLeaseAsync(jobs[0], installationId, firstLease);

        var after = await Eventually.Until(() => world.Organisation(installationId).GetView(), o => o.WaitingJobs == 1, "the head of the line starts");
        Assert.Equal([jobs[3]], after.WaitingJobIds);
        Assert.Equal(2, after.LiveLeases);
        var started = await Task.WhenAll(after.LeaseIds.Select(id => world.Lease(id).GetView()));
        Assert.Contains(started, l => l!.LaunchedForJobId == jobs[2]);
    }

    [Fact]
    public async Task A_job_cancelled_while_its_VM_boots_frees_the_VM_and_the_slot()
    {
        var installationId = await world.InstallAsync();
        var jobId = LifecycleCluster.NewJobId();
        var leaseId = await world.QueueAsync(jobId, installationId);
        var booting = await world.LeaseReaches(leaseId, LeasePhase.Booting);
        Assert.Equal(InstanceState.Pending, await world.Compute.DescribeAsync(booting.InstanceId!, default));

        await world.Job(jobId).Apply(LifecycleCluster.JobEvent(jobId, installationId, JobStatus.Completed, conclusion: "cancelled"));

        var ended = await world.LeaseReaches(leaseId, LeasePhase.Terminated);
        Assert.Null(ended.JobId);
        Assert.Equal(InstanceState.Terminated, await world.Compute.DescribeAsync(booting.InstanceId!, default));
        await Eventually.Until(() => world.Organisation(installationId).GetView(), o => o.LiveLeases == 0, "the slot is freed");
        Assert.Equal("cancelled", (await world.Job(jobId).GetView())!.Conclusion);
    }

    [Fact]
    public async Task A_cancelled_jobs_VM_serves_the_next_waiting_job_of_its_machine_type()
    {
        var installationId = await world.InstallAsync();
        long[] jobs = [.. Enumerable.Range(0, 3).Select(_ => LifecycleCluster.NewJobId())];
        var cancelledLease = await world.QueueAsync(jobs[0], installationId);
        await world.QueueAsync(jobs[1], installationId);
        await world.Job(jobs[2]).Apply(LifecycleCluster.JobEvent(jobs[2], installationId, JobStatus.Queued));

        await world.Job(jobs[0]).Apply(LifecycleCluster.JobEvent(jobs[0], installationId, JobStatus.Completed, conclusion: "cancelled"));

        var organisation = await world.Organisation(installationId).GetView();
        Assert.Empty(organisation.WaitingJobIds);
        Assert.Contains(cancelledLease, organisation.LeaseIds);
        Assert.Contains(await world.Organisation(installationId).GetPendingJobs(), p => p.JobId == jobs[2]);
        Assert.Null((await world.Lease(cancelledLease).GetView())!.TerminatedAt);
    }

    [Fact]
    public async Task Deleting_the_installation_terminates_all_its_VMs_and_launches_nothing_after()
    {
        var installationId = await world.InstallAsync();
        var busyJob = LifecycleCluster.NewJobId();
        var busyLease = await world.QueueAsync(busyJob, installationId);
        var idleLease = await world.QueueAsync(LifecycleCluster.NewJobId(), installationId);
        await world.LeaseReaches(busyLease, LeasePhase.Booting);
        await world.Job(busyJob).Apply(LifecycleCluster.JobEvent(busyJob, installationId, JobStatus.InProgress, runnerName: RunnerNames.ForLease(busyLease)));

        await world.Organisation(installationId).ApplyInstallation(new InstallationChange { Action = InstallationAction.Deleted });

        foreach (var leaseId in new[] { busyLease, idleLease })
        {
            var lease = await world.LeaseReaches(leaseId, LeasePhase.Terminated);
            Assert.Equal("the installation was deleted", lease.EndReason);
            Assert.Equal(InstanceState.Terminated, await world.Compute.DescribeAsync(lease.InstanceId!, default));
        }

        var late = LifecycleCluster.NewJobId();
        Assert.Equal(JobEventOutcome.Rejected, await world.Job(late).Apply(LifecycleCluster.JobEvent(late, installationId, JobStatus.Queued)));
        Assert.Contains("deleted", (await world.Job(late).GetView())!.RejectionReason, StringComparison.Ordinal);
        Assert.Equal(RejectionCode.DeletedInstallation, (await world.Job(late).GetView())!.RejectionCode);
        var organisation = await Eventually.Until(() => world.Organisation(installationId).GetView(), o => o.LiveLeases == 0, "all slots are freed");
        Assert.Equal(OrganisationStatus.Deleted, organisation.Status);
    }

    [Fact]
    public async Task Jobs_of_an_unknown_installation_launch_nothing_and_are_parked_without_being_rejected()
    {
        var stranger = Random.Shared.NextInt64(1, long.MaxValue);
        var jobId = LifecycleCluster.NewJobId();

        var outcome = await world.Job(jobId).Apply(LifecycleCluster.JobEvent(jobId, stranger, JobStatus.Queued));

        Assert.Equal(JobEventOutcome.Parked, outcome);
        Assert.Null((await world.Job(jobId).GetView())!.RejectionReason);
        var organisation = await world.Organisation(stranger).GetView();
        Assert.Equal(0, organisation.LiveLeases);
        Assert.Equal([jobId], organisation.ParkedJobIds);
    }

    [Fact]
    public async Task A_suspended_installation_launches_nothing_until_unsuspended()
    {
        var installationId = await world.InstallAsync();
        await world.Organisation(installationId).ApplyInstallation(new InstallationChange { Action = InstallationAction.Suspended });
        var jobId = LifecycleCluster.NewJobId();

        Assert.Equal(JobEventOutcome.Rejected, await world.Job(jobId).Apply(LifecycleCluster.JobEvent(jobId, installationId, JobStatus.Queued)));
        Assert.Contains("suspended", (await world.Job(jobId).GetView())!.RejectionReason, StringComparison.Ordinal);
        Assert.Equal(RejectionCode.SuspendedInstallation, (await world.Job(jobId).GetView())!.RejectionCode);

        await world.Organisation(installationId).ApplyInstallation(new InstallationChange { Action = InstallationAction.Unsuspended });
        var next = LifecycleCluster.NewJobId();
        await world.QueueAsync(next, installationId);
        Assert.Equal(OrganisationStatus.Active, (await world.Organisation(installationId).GetView()).Status);
    }

    [Theory]
    [InlineData("builtiful-3vcpu-ubuntu-2404", "is not a machine type Builtiful serves")]
    [InlineData("builtiful-4vcpu-windows-2022", "is not a machine type Builtiful serves")]
    public async Task A_builtiful_label_we_do_not_serve_is_rejected_with_a_reason_and_no_VM(string label, string reason)
    {
        var installationId = await world.InstallAsync();
        var jobId = LifecycleCluster.NewJobId();

        var outcome = await world.Job(jobId).Apply(LifecycleCluster.JobEvent(jobId, installationId, JobStatus.Queued, label));

        Assert.Equal(JobEventOutcome.Rejected, outcome);
        var job = (await world.Job(jobId).GetView())!;
        Assert.Contains(reason, job.RejectionReason, StringComparison.Ordinal);
        Assert.Contains(label, job.RejectionReason, StringComparison.Ordinal);
        Assert.Equal(0, (await world.Organisation(installationId).GetView()).LiveLeases);
    }

    [Fact]
    public async Task Every_catalogued_label_is_served_including_arm()
    {
        var installationId = await world.InstallAsync();
        var jobId = LifecycleCluster.NewJobId();

        var outcome = await world.Job(jobId).Apply(LifecycleCluster.JobEvent(jobId, installationId, JobStatus.Queued, "builtiful-32vcpu-ubuntu-2204-arm"));

        Assert.Equal(JobEventOutcome.Applied, outcome);
        Assert.Equal("builtiful-32vcpu-ubuntu-2204-arm", (await world.Job(jobId).GetView())!.MachineType);
    }
}
