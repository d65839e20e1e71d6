using Builtiful.Jobs;
using Builtiful.Leases;
using Builtiful.Organisations;
using Builtiful.Providers;

namespace Builtiful.Grains.Tests;

/// <summary>Reminders, not webhooks, guarantee that no VM outlives its deadlines: the organisation's, one for all its leases.</summary>
public sealed class LeaseDeadlineTests(LifecycleCluster world) : IClassFixture<LifecycleCluster>
{
    [Fact]
    public async Task A_queued_job_gets_a_launched_VM_and_its_organisation_a_registered_deadline_reminder()
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
        Assert.NotNull(await world.Reminders.ReadRow(world.Organisation(installationId).GetGrainId(), OrganisationGrain.LeaseReminder));
        Assert.Empty((await world.Reminders.ReadRows(world.Lease(leaseId).GetGrainId())).Reminders);
    }

    [Fact]
    public async Task The_boot_deadline_reminder_destroys_a_VM_whose_runner_never_took_a_job_and_the_job_gets_another()
    {
        var installationId = await world.InstallAsync();
        var jobId = LifecycleCluster.NewJobId();
        var leaseId = await world.QueueAsync(jobId, installationId);
        var booting = await world.LeaseReaches(leaseId, LeasePhase.Booting);

        world.Clock.Advance(TimeSpan.FromMinutes(10) + TimeSpan.FromSeconds(1));

        var ended = await world.LeaseReaches(leaseId, LeasePhase.Terminated);
        Assert.Contains("boot deadline", ended.EndReason, StringComparison.Ordinal);
        Assert.Equal(InstanceState.Terminated, await world.Compute.DescribeAsync(booting.InstanceId!, default));
        var organisation = await Eventually.Until(() => world.Organisation(installationId).GetView(), o => o.LiveLeases == 1 && !o.LeaseIds.Contains(leaseId), "the job gets a new VM");
        Assert.Equal(jobId, (await world.Lease(Assert.Single(organisation.LeaseIds)).GetView())!.LaunchedForJobId);
        Assert.NotNull(await world.Reminders.ReadRow(world.Organisation(installationId).GetGrainId(), OrganisationGrain.LeaseReminder));
    }

    [Fact]
    public async Task A_job_that_ran_on_a_VM_whose_lease_had_already_given_it_up_is_still_bound_to_that_lease_and_billed()
    {
        var installationId = await world.InstallAsync();
        var jobId = LifecycleCluster.NewJobId();
        var leaseId = await world.QueueAsync(jobId, installationId);
        await world.LeaseReaches(leaseId, LeasePhase.Booting);
        world.Clock.Advance(TimeSpan.FromMinutes(10) + TimeSpan.FromSeconds(1));
        await world.LeaseReaches(leaseId, LeasePhase.Terminated);

        // The runner had taken the job just before its VM went; GitHub's in_progress and completed arrive late.
        await world.RunOnLeaseAsync(jobId, installationId, leaseId);

        var job = (await world.Job(jobId).GetView())!;
        Assert.Equal(leaseId, job.LeaseId);
        Assert.Equal(jobId, (await world.Lease(leaseId).GetView())!.JobId);
        var usage = world.Client.GetGrain<Builtiful.Usage.IUsageGrain>(Builtiful.Usage.UsageMonth.Key(installationId, Builtiful.Usage.UsageMonth.Of(job.CompletedAt!.Value)));
        var runs = await Eventually.Until(async () => (await usage.GetRuns(0, 10)).Items, r => r.Any(run => run.JobId == jobId), $"job {jobId} is billed");
        Assert.Equal(leaseId, Assert.Single(runs, r => r.JobId == jobId).LeaseId);
    }

    [Fact]
    public async Task A_job_whose_VMs_all_pass_their_boot_deadline_is_marked_failed_to_provision_and_holds_no_capacity()
    {
        var installationId = await world.InstallAsync();
        var jobId = LifecycleCluster.NewJobId();
        await world.QueueAsync(jobId, installationId);

        for (var attempt = 1; attempt <= 3; attempt++)
        {
            var organisation = await Eventually.Until(() => world.Organisation(installationId).GetView(), o => o.LiveLeases == 1, $"VM {attempt} is leased");
            var leaseId = Assert.Single(organisation.LeaseIds);
            await world.LeaseReaches(leaseId, LeasePhase.Booting);
            world.Clock.Advance(TimeSpan.FromMinutes(10) + TimeSpan.FromSeconds(1));
            await world.LeaseReaches(leaseId, LeasePhase.Terminated);
        }

        var job = await Eventually.Until(async () => (await world.Job(jobId).GetView())!, j => j.RejectionReason is not null, "the job is marked failed to provision");
        Assert.StartsWith("failed to provision: 3 VMs ended before a runner took the job", job.RejectionReason, StringComparison.Ordinal);
        Assert.Contains("boot deadline", job.RejectionReason, StringComparison.Ordinal);
        Assert.Equal(RejectionCode.ProvisioningFailed, job.RejectionCode);
        Assert.Equal(JobStatus.Queued, job.Status);
        var after = await world.Organisation(installationId).GetView();
        Assert.Equal(0, after.LiveLeases);
        Assert.Empty(await world.Organisation(installationId).GetPendingJobs());
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
    public async Task Completed_terminates_the_VM_and_the_organisation_with_no_live_lease_left_unregisters_its_reminder()
    {
        var installationId = await world.InstallAsync();
        var jobId = LifecycleCluster.NewJobId();
        var leaseId = await world.QueueAsync(jobId, installationId);
        await world.LeaseReaches(leaseId, LeasePhase.Booting);

        await world.RunOnLeaseAsync(jobId, installationId, leaseId);

        var lease = await world.LeaseReaches(leaseId, LeasePhase.Terminated);
        Assert.Equal(jobId, lease.JobId);
        Assert.Equal($"job {jobId} completed", lease.EndReason);
        await Eventually.Until(() => world.Reminders.ReadRow(world.Organisation(installationId).GetGrainId(), OrganisationGrain.LeaseReminder), row => row is null, "the reminder is removed");
        Assert.Equal(0, (await world.Organisation(installationId).GetView()).LiveLeases);
        var job = (await world.Job(jobId).GetView())!;
        Assert.Equal(JobStatus.Completed, job.Status);
        Assert.Equal("success", job.Conclusion);
        Assert.Equal(leaseId, job.LeaseId);
    }
}
