using Builtiful.Jobs;
using Builtiful.Leases;
using Builtiful.Providers;
using Builtiful.Reconciliation;
using Builtiful.Simulation;
using Microsoft.Extensions.Configuration;

namespace Builtiful.Grains.Tests;

/// <summary>The sweep that assumes everything else failed: the cloud's instances against the leases.</summary>
public sealed class ReconcilerTests(LifecycleCluster world) : IClassFixture<LifecycleCluster>
{
    private IReconcilerGrain Reconciler => world.Client.GetGrain<IReconcilerGrain>(SimulatedComputeProvider.ProviderName);

    [Fact]
    public async Task An_instance_of_this_cluster_with_no_lease_behind_it_is_terminated()
    {
        var orphan = await LaunchStrayAsync(Guid.NewGuid(), LifecycleCluster.Epoch.AddHours(6));

        var report = await Reconciler.Sweep();

        Assert.Contains(report.Reasons, r => r.StartsWith(orphan, StringComparison.Ordinal) && r.Contains("does not exist", StringComparison.Ordinal));
        Assert.Equal(InstanceState.Terminated, await world.Compute.DescribeAsync(orphan, default));
    }

    [Fact]
    public async Task A_second_instance_of_a_live_lease_is_terminated_and_the_leases_own_VM_is_kept()
    {
        var installationId = await world.InstallAsync();
        var leaseId = await world.QueueAsync(LifecycleCluster.NewJobId(), installationId);
        var lease = await world.LeaseReaches(leaseId, LeasePhase.Booting);
        var stray = await LaunchStrayAsync(leaseId, lease.ExpiresAt!.Value);

        var report = await Reconciler.Sweep();

        Assert.Contains(report.Reasons, r => r.StartsWith(stray, StringComparison.Ordinal));
        Assert.Equal(InstanceState.Terminated, await world.Compute.DescribeAsync(stray, default));
        Assert.NotEqual(InstanceState.Terminated, await world.Compute.DescribeAsync(lease.InstanceId!, default));
        Assert.DoesNotContain(report.Reasons, r => r.StartsWith(lease.InstanceId!, StringComparison.Ordinal));
    }

    [Fact]
    public async Task An_instance_past_its_deadline_plus_one_period_is_terminated_whatever_its_lease_says()
    {
        var installationId = await world.InstallAsync();
        var jobId = LifecycleCluster.NewJobId();
        var leaseId = await world.QueueAsync(jobId, installationId);
        await world.LeaseReaches(leaseId, LeasePhase.Booting);
        await world.Job(jobId).Apply(LifecycleCluster.JobEvent(jobId, installationId, JobStatus.InProgress, runnerName: RunnerNames.ForLease(leaseId)));
        var stale = await LaunchStrayAsync(Guid.NewGuid(), world.Clock.GetUtcNow().AddMinutes(-10));

        var report = await Reconciler.Sweep();

        Assert.Contains(report.Reasons, r => r.StartsWith(stale, StringComparison.Ordinal) && r.Contains("past its deadline", StringComparison.Ordinal));
        Assert.Equal(InstanceState.Terminated, await world.Compute.DescribeAsync(stale, default));
    }

    /// <summary>An instance made behind the control plane's back, as a lost launch answer or a bug would leave one.</summary>
    private async Task<string> LaunchStrayAsync(Guid leaseId, DateTimeOffset expiresAt)
    {
        var catalogue = new Machines.MachineCatalogue(LifecycleCluster.Configuration.GetSection("MachineCatalogue").Get<Machines.MachineCatalogueOptions>()!);
        var launched = await world.Compute.LaunchAsync(new LaunchRequest
        {
            LeaseId = leaseId,
            InstallationId = 1,
            JobId = 1,
            MachineType = catalogue.All.First(),
            ClientToken = Guid.NewGuid().ToString("N"),
            Runner = new RunnerConfig("stray", "e30="),
            ExpiresAt = expiresAt.AddDays(1),
            Tags = new Dictionary<string, string>
            {
                [InstanceTags.Lease] = leaseId.ToString("N"),
                [InstanceTags.Cluster] = "builtiful",
                [InstanceTags.ExpiresAt] = expiresAt.ToString("O"),
            },
        }, default);
        return launched.InstanceId;
    }
}
