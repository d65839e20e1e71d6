using Builtiful.Jobs;
using Builtiful.Leases;
using Builtiful.Providers;

namespace Builtiful.Grains.Tests;

/// <summary>
/// A VM that goes away without its lease asking (lost <c>completed</c>, a crash, a hand in the console) is noticed by the
/// organisation's batched look at the cloud on its reminder ticks, not at the maximum lifetime.
/// </summary>
public sealed class VanishedVmTests(LifecycleCluster world) : IClassFixture<LifecycleCluster>
{
    [Fact]
    public async Task An_idle_VM_terminated_out_of_band_ends_its_lease_and_its_still_queued_job_gets_another()
    {
        var installationId = await world.InstallAsync();
        var jobId = LifecycleCluster.NewJobId();
        var leaseId = await world.QueueAsync(jobId, installationId);
        await world.LeaseReaches(leaseId, LeasePhase.Booting);
        world.Clock.Advance(TimeSpan.FromSeconds(31));
        var idle = await world.LeaseReaches(leaseId, LeasePhase.Idle);

        await world.Compute.TerminateAsync(idle.InstanceId!, default);

        var ended = await world.LeaseReaches(leaseId, LeasePhase.Terminated);
        Assert.Contains($"the VM disappeared: instance {idle.InstanceId} is terminated", ended.EndReason, StringComparison.Ordinal);
        Assert.Contains("while the lease was idle", ended.EndReason, StringComparison.Ordinal);
        var organisation = await Eventually.Until(() => world.Organisation(installationId).GetView(), o => o.LiveLeases == 1 && !o.LeaseIds.Contains(leaseId), "the job gets a new VM");
        var next = Assert.Single(organisation.LeaseIds);

        // The slot is stored before its lease is ordered: the view can show it a moment before the lease exists.
        var lease = await Eventually.Until(() => world.Lease(next).GetView(), v => v is not null, $"lease {next} is stored");
        Assert.Equal(jobId, lease!.LaunchedForJobId);
        await Eventually.Until(() => Task.FromResult(world.Compute.Vms.Any(v => v.LeaseId == next && v.State != InstanceState.Terminated)), found => found,
            $"lease {next} launches a VM");
    }

    [Fact]
    public async Task Busy_VMs_that_vanish_together_end_their_leases_and_free_their_slots_long_before_the_maximum_lifetime()
    {
        var installationId = await world.InstallAsync();
        var jobs = new[] { LifecycleCluster.NewJobId(), LifecycleCluster.NewJobId() };
        var leases = new List<Guid>();
        foreach (var jobId in jobs)
        {
            leases.Add(await world.QueueAsync(jobId, installationId));
        }

        // Both VMs are launched (their JIT configs minted over GitHub's REST API) before the boot time passes on the fake clock.
        foreach (var leaseId in leases)
        {
            await world.LeaseReaches(leaseId, LeasePhase.Booting);
        }

        world.Clock.Advance(TimeSpan.FromSeconds(31));
        var instances = new List<string>();
        for (var i = 0; i < jobs.Length; i++)
        {
            instances.Add((await world.LeaseReaches(leases[i], LeasePhase.Idle)).InstanceId!);
            await world.Job(jobs[i]).Apply(LifecycleCluster.JobEvent(jobs[i], installationId, JobStatus.InProgress, runnerName: RunnerNames.ForLease(leases[i])));
            await world.LeaseReaches(leases[i], LeasePhase.Busy);
        }

        var waiting = LifecycleCluster.NewJobId();
        Assert.Equal(JobEventOutcome.Applied, await world.Job(waiting).Apply(LifecycleCluster.JobEvent(waiting, installationId, JobStatus.Queued)));
        var describes = world.Compute.DescribeManyCalls;

        // The completed of either job never arrives.
        foreach (var instanceId in instances)
        {
            await world.Compute.TerminateAsync(instanceId, default);
        }

        foreach (var leaseId in leases)
        {
            var ended = await world.LeaseReaches(leaseId, LeasePhase.Terminated);
            Assert.Contains("the VM disappeared", ended.EndReason, StringComparison.Ordinal);
            Assert.Contains("while the lease was busy", ended.EndReason, StringComparison.Ordinal);
        }

        Assert.True(world.Compute.DescribeManyCalls > describes);
        var organisation = await Eventually.Until(() => world.Organisation(installationId).GetView(), o => o.WaitingJobs == 0 && o.LiveLeases == 1, "the waiting job takes a freed slot");
        Assert.Equal(waiting, (await world.Lease(Assert.Single(organisation.LeaseIds)).GetView())!.LaunchedForJobId);
    }
}
