using Builtiful.Pools;
using Builtiful.Providers;
using Builtiful.Reconciliation;
using Builtiful.Simulation;
using Builtiful.Testing;
using Microsoft.Extensions.Configuration;

namespace Builtiful.Grains.Tests;

/// <summary>One warm pool whose VMs never finish booting, swept by the reconciler on a fake clock.</summary>
public sealed class PoolReconcilerCluster : LifecycleCluster
{
    protected override IReadOnlyDictionary<string, string?> Settings { get; } = new Dictionary<string, string?>
    {
        ["Reconciler:Period"] = "00:10:00",
        ["Reconciler:ConfirmationGap"] = ReconcilerCluster.ConfirmationGap,
        ["Simulation:BootDelay"] = "01:00:00",
        ["Pools:linux:MachineType"] = "builtiful-2vcpu-ubuntu-2404",
        ["Pools:linux:MinIdle"] = "1",
        ["Pools:linux:MaxIdle"] = "1",
        ["Pools:linux:IdleLifetime"] = "02:00:00",
    };
}

/// <summary>Pool VMs carry no lease tag: the reconciler asks their pool, and ends only the ones no pool owns.</summary>
public sealed class PoolReconcilerTests(PoolReconcilerCluster world) : IClassFixture<PoolReconcilerCluster>
{
    private IReconcilerGrain Reconciler => world.Client.GetGrain<IReconcilerGrain>(SimulatedComputeProvider.ProviderName);

    [Fact]
    public async Task A_pool_vm_its_pool_owns_is_kept_and_one_no_pool_owns_is_terminated()
    {
        await world.Client.GetGrain<IPoolGrain>("linux").Start();
        var owned = await Eventually.Until(
            async () => (await world.Compute.ListByTagAsync(InstanceTags.Pool, "linux", default)).FirstOrDefault(i => i.State != InstanceState.Terminated)!,
            i => i is not null, "the pool launched its VM");
        var stray = (await world.Compute.LaunchAsync(new LaunchRequest
        {
            LeaseId = Guid.NewGuid(),
            InstallationId = 0,
            JobId = 0,
            MachineType = new Machines.MachineCatalogue(LifecycleCluster.Configuration.GetSection("MachineCatalogue").Get<Machines.MachineCatalogueOptions>()!).All.First(),
            ClientToken = Guid.NewGuid().ToString("N"),
            Claim = new ClaimTicket(LifecycleCluster.ClaimUrl, new string('a', 64), "linux"),
            ExpiresAt = LifecycleCluster.Epoch.AddDays(1),
            Tags = new Dictionary<string, string>
            {
                [InstanceTags.Pool] = "linux",
                [InstanceTags.Cluster] = SimulatedComputeProvider.DefaultClusterName,
                [InstanceTags.ExpiresAt] = LifecycleCluster.Epoch.AddDays(1).ToString("O"),
            },
        }, default)).InstanceId;

        await Reconciler.Sweep();
        world.Clock.Advance(TimeSpan.Parse(ReconcilerCluster.ConfirmationGap, System.Globalization.CultureInfo.InvariantCulture));
        var report = await Reconciler.Sweep();

        Assert.Contains(report.Reasons, r => r.StartsWith(stray, StringComparison.Ordinal) && r.Contains("pool linux does not own it", StringComparison.Ordinal));
        Assert.Equal(InstanceState.Terminated, await world.Compute.DescribeAsync(stray, default));
        Assert.DoesNotContain(report.Reasons, r => r.StartsWith(owned.InstanceId, StringComparison.Ordinal));
        Assert.NotEqual(InstanceState.Terminated, await world.Compute.DescribeAsync(owned.InstanceId, default));
    }
}
