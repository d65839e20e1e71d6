using Builtiful.Leases;
using Builtiful.Organisations;
using Builtiful.Reconciliation;
using Builtiful.Simulation;

namespace Builtiful.Grains.Tests;

/// <summary>
/// A lease tells its organisation it ended one way; when a silo dies with that notice in flight, the organisation
/// must still free the slot and find the job still waiting for a runner another VM.
/// </summary>
public sealed class LostNoticeTests(LifecycleCluster world) : IClassFixture<LifecycleCluster>
{
    private IReconcilerGrain Reconciler => world.Client.GetGrain<IReconcilerGrain>(SimulatedComputeProvider.ProviderName);

    [Fact]
    public async Task A_slot_whose_lease_ended_unnoticed_is_freed_by_the_reconcilers_sweep_and_its_job_gets_another_VM()
    {
        var installationId = await world.InstallAsync();
        world.Lost.Lose(nameof(IOrganisationGrain.LeaseEnded), installationId);
        var jobId = LifecycleCluster.NewJobId();
        var leaseId = await world.QueueAsync(jobId, installationId);
        await world.LeaseReaches(leaseId, LeasePhase.Booting);
        await world.Lease(leaseId).Terminate("the VM went away before its runner took a job");
        await world.LeaseReaches(leaseId, LeasePhase.Terminated);
        Assert.Contains(leaseId, (await world.Organisation(installationId).GetView()).LeaseIds);

        var report = await Reconciler.Sweep();

        Assert.True(report.SlotsFreed >= 1, $"{report.SlotsFreed} slots freed");
        var organisation = await world.Organisation(installationId).GetView();
        Assert.DoesNotContain(leaseId, organisation.LeaseIds);
        var next = (await world.Lease(Assert.Single(organisation.LeaseIds)).GetView())!;
        Assert.Equal(jobId, next.LaunchedForJobId);
        Assert.Contains(await world.Organisation(installationId).GetPendingJobs(), p => p.JobId == jobId && p.Attempts == 2);
    }

    [Fact]
    public async Task At_capacity_a_lost_end_notice_is_repeated_by_the_tick_not_swept_on_the_request_path_and_its_job_gets_another_VM_first()
    {
        // Organisations:MaxConcurrentVms is 2 in these tests.
        var installationId = await world.InstallAsync();
        world.Lost.Lose(nameof(IOrganisationGrain.LeaseEnded), installationId);
        var first = LifecycleCluster.NewJobId();
        var second = LifecycleCluster.NewJobId();
        var third = LifecycleCluster.NewJobId();
        var firstLease = await world.QueueAsync(first, installationId);
        var secondLease = await world.QueueAsync(second, installationId);
        await world.LeaseReaches(firstLease, LeasePhase.Booting);
        await world.Lease(firstLease).Terminate("the VM went away before its runner took a job");
        await world.LeaseReaches(firstLease, LeasePhase.Terminated);

        // The queued delivery reads no lease: the slot whose notice was lost still counts, so the new job waits.
        Assert.Equal(Jobs.JobEventOutcome.Applied, await world.Job(third).Apply(LifecycleCluster.JobEvent(third, installationId, Jobs.JobStatus.Queued)));
        var waiting = await world.Organisation(installationId).GetView();
        Assert.Contains(firstLease, waiting.LeaseIds);
        Assert.Equal([third], waiting.WaitingJobIds);

        // The next tick's check of the ended lease repeats its notice, which now arrives.
        world.Lost.Deliver(nameof(IOrganisationGrain.LeaseEnded), installationId);
        var organisation = await Eventually.Until(() => world.Organisation(installationId).GetView(), o => !o.LeaseIds.Contains(firstLease),
            $"the tick frees the slot of ended lease {firstLease}");
        Assert.Contains(secondLease, organisation.LeaseIds);
        var replacement = (await world.Lease(Assert.Single(organisation.LeaseIds, id => id != secondLease)).GetView())!;
        Assert.Equal(first, replacement.LaunchedForJobId);
        Assert.Equal([third], organisation.WaitingJobIds);
    }
}
