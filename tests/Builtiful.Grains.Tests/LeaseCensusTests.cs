using Builtiful.Jobs;
using Builtiful.Leases;
using Builtiful.Telemetry;
using Microsoft.Extensions.DependencyInjection;

namespace Builtiful.Grains.Tests;

/// <summary>
/// The <c>builtiful.leases</c> gauge counts the live leases activated on a silo, by phase: each lease moves itself in
/// the census as it activates, changes phase and deactivates, so the count is exact and nothing is kept per lease.
/// </summary>
public sealed class LeaseCensusTests(LifecycleCluster world) : IClassFixture<LifecycleCluster>
{
    private LeaseCensus Census => world.Cluster.Silos[0].ServiceProvider.GetRequiredService<LeaseCensus>();

    private Task<string> CountsAsync(params LeasePhase[] phases) =>
        Task.FromResult(string.Join(", ", phases.Select(p => $"{p}={Census.Count(p)}")));

    private Task<string> CensusSays(string expected, params LeasePhase[] phases) =>
        Eventually.Until(() => CountsAsync(phases), counts => counts == expected, $"the census says {expected}");

    [Fact]
    public async Task A_lease_is_counted_in_its_phase_while_activated_and_in_none_once_deactivated_or_ended()
    {
        LeasePhase[] phases = [LeasePhase.Launching, LeasePhase.Booting, LeasePhase.Idle, LeasePhase.Busy, LeasePhase.Terminating];
        var installationId = await world.InstallAsync();
        var jobId = LifecycleCluster.NewJobId();
        var leaseId = await world.QueueAsync(jobId, installationId);
        var booting = await world.LeaseReaches(leaseId, LeasePhase.Booting);
        await CensusSays("Launching=0, Booting=1, Idle=0, Busy=0, Terminating=0", phases);

        // The claim is stored (the lease's order rode it) and its runner is online. Deactivated, the lease is counted
        // nowhere; a check activates it from storage, counted again.
        Assert.Equal(ClaimOutcome.Granted, (await world.ClaimAsync(leaseId, booting.InstanceId!)).Outcome);
        await CensusSays("Launching=0, Booting=0, Idle=1, Busy=0, Terminating=0", phases);
        await world.Client.GetGrain<Orleans.Runtime.IManagementGrain>(0).ForceActivationCollection(TimeSpan.Zero);
        await CensusSays("Launching=0, Booting=0, Idle=0, Busy=0, Terminating=0", phases);
        Assert.Equal(LeaseCheck.Live, await world.Lease(leaseId).Check());
        await CensusSays("Launching=0, Booting=0, Idle=1, Busy=0, Terminating=0", phases);

        var runner = RunnerNames.ForLease(leaseId);
        await world.Job(jobId).Apply(LifecycleCluster.JobEvent(jobId, installationId, JobStatus.InProgress, runnerName: runner));
        await CensusSays("Launching=0, Booting=0, Idle=0, Busy=1, Terminating=0", phases);

        await world.Job(jobId).Apply(LifecycleCluster.JobEvent(jobId, installationId, JobStatus.Completed, runnerName: runner, conclusion: "success"));
        await world.LeaseReaches(leaseId, LeasePhase.Terminated);
        await CensusSays("Launching=0, Booting=0, Idle=0, Busy=0, Terminating=0", phases);
    }
}
