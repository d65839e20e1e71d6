using Builtiful.Jobs;
using Builtiful.Leases;
using Builtiful.Providers;

namespace Builtiful.Grains.Tests;

/// <summary>Reminders, not webhooks, guarantee that no VM outlives its deadlines.</summary>
public sealed class LeaseDeadlineTests(LifecycleCluster world) : IClassFixture<LifecycleCluster>
{
    [Fact]
    public async Task A_queued_job_gets_a_launched_VM_and_a_registered_deadline_reminder()
    {
        var installationId = await world.InstallAsync();
        var jobId = LifecycleCluster.NewJobId();

        var leaseId = await world.QueueAsync(jobId, installationId);

        var lease = await world.LeaseReaches(leaseId, LeasePhase.Booting);
        Assert.Equal(RunnerNames.ForLease(leaseId), lease.RunnerName);
        Assert.Equal("builtiful-2vcpu-ubuntu-2404", lease.MachineType);
        Assert.Equal(jobId, lease.LaunchedForJobId);
        var vm = Assert.Single(world.Compute.Vms, v => v.LeaseId == leaseId);
        Assert.Equal(lease.InstanceId, vm.InstanceId);
        Assert.Equal(leaseId.ToString("N"), vm.Tags[InstanceTags.Lease]);
        Assert.Equal(installationId.ToString(System.Globalization.CultureInfo.InvariantCulture), vm.Tags[InstanceTags.Installation]);
        Assert.NotNull(await world.Reminders.ReadRow(world.Lease(leaseId).GetGrainId(), VmLeaseGrain.DeadlineReminder));
    }

    [Fact]
    public async Task The_boot_deadline_reminder_destroys_a_VM_whose_runner_never_took_a_job()
    {
        var installationId = await world.InstallAsync();
        var leaseId = await world.QueueAsync(LifecycleCluster.NewJobId(), installationId);
        var booting = await world.LeaseReaches(leaseId, LeasePhase.Booting);

        world.Clock.Advance(TimeSpan.FromMinutes(10) + TimeSpan.FromSeconds(1));

        var ended = await world.LeaseReaches(leaseId, LeasePhase.Terminated);
        Assert.Contains("boot deadline", ended.EndReason, StringComparison.Ordinal);
        Assert.Equal(InstanceState.Terminated, await world.Compute.DescribeAsync(booting.InstanceId!, default));
        Assert.Null(await world.Reminders.ReadRow(world.Lease(leaseId).GetGrainId(), VmLeaseGrain.DeadlineReminder));
        await Eventually.Until(() => world.Organisation(installationId).GetView(), o => o.LiveLeases == 0, "the slot is freed");
    }

    [Fact]
    public async Task The_maximum_lifetime_reminder_destroys_a_VM_even_while_its_job_runs()
    {
        var installationId = await world.InstallAsync();
        var jobId = LifecycleCluster.NewJobId();
        var leaseId = await world.QueueAsync(jobId, installationId);
        await world.LeaseReaches(leaseId, LeasePhase.Booting);
        await world.Job(jobId).Apply(LifecycleCluster.JobEvent(jobId, installationId, JobStatus.InProgress, runnerName: RunnerNames.ForLease(leaseId)));
        await world.LeaseReaches(leaseId, LeasePhase.Busy);

        world.Clock.Advance(TimeSpan.FromHours(6) + TimeSpan.FromSeconds(1));

        var ended = await world.LeaseReaches(leaseId, LeasePhase.Terminated);
        Assert.Contains("maximum lifetime", ended.EndReason, StringComparison.Ordinal);
        Assert.Equal(jobId, ended.JobId);
        Assert.Equal(InstanceState.Terminated, await world.Compute.DescribeAsync(ended.InstanceId!, default));
    }

    [Fact]
    public async Task Completed_terminates_the_VM_and_unregisters_the_reminder()
    {
        var installationId = await world.InstallAsync();
        var jobId = LifecycleCluster.NewJobId();
        var leaseId = await world.QueueAsync(jobId, installationId);
        await world.LeaseReaches(leaseId, LeasePhase.Booting);
        var runner = RunnerNames.ForLease(leaseId);

        await world.Job(jobId).Apply(LifecycleCluster.JobEvent(jobId, installationId, JobStatus.InProgress, runnerName: runner));
        await world.Job(jobId).Apply(LifecycleCluster.JobEvent(jobId, installationId, JobStatus.Completed, runnerName: runner, conclusion: "success"));

        var lease = await world.LeaseReaches(leaseId, LeasePhase.Terminated);
        Assert.Equal(jobId, lease.JobId);
        Assert.Equal($"job {jobId} completed", lease.EndReason);
        Assert.Null(await world.Reminders.ReadRow(world.Lease(leaseId).GetGrainId(), VmLeaseGrain.DeadlineReminder));
        var job = (await world.Job(jobId).GetView())!;
        Assert.Equal(JobStatus.Completed, job.Status);
        Assert.Equal("success", job.Conclusion);
        Assert.Equal(leaseId, job.LeaseId);
    }
}
