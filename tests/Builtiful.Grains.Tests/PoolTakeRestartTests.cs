using System.Collections.Concurrent;
using Builtiful.Leases;
using Builtiful.Pools;
using Builtiful.Providers;
using Microsoft.Extensions.DependencyInjection;
using Orleans.Storage;

namespace Builtiful.Grains.Tests;

/// <summary>
/// A lease restarting mid-take: the pool has handed it a VM, and the lease's write of that take is refused (its silo
/// died there). The next activation of the lease, from its stored order, launches a VM of its own, and the pool ends
/// the VM it handed out: no job waits on a VM nobody drives, and no VM is left to idle. Judged by the simulated cloud.
/// </summary>
public sealed class PoolTakeRestartTests(PoolTakeRestartTests.PooledCluster world) : IClassFixture<PoolTakeRestartTests.PooledCluster>
{
    [Fact]
    public async Task A_lease_restarted_mid_take_launches_its_own_vm_and_the_pool_ends_the_vm_it_handed_out()
    {
        var handedOut = await world.FirstPoolVmAsync("linux");

        // The first lease write that records a pool VM is refused: the pool has made the take, the lease's record of it is lost.
        world.RefuseFirstTakeWrite();
        var installationId = await world.InstallAsync();
        var jobId = LifecycleCluster.NewJobId();
        await world.Job(jobId).Apply(LifecycleCluster.JobEvent(jobId, installationId, Jobs.JobStatus.Queued));
        var leaseId = Assert.Single((await world.Organisation(installationId).GetView()).LeaseIds);
        await Eventually.Until(() => Task.FromResult(world.RefusedTakeWrite), refused => refused, "the take's write is refused");
        Assert.Equal(1, world.Takes.Of(leaseId));

        // The silo goes before anything else is written: the organisation's next check brings the lease back from its
        // stored order. A restarted attempt never asks the pool (it may already have a VM somewhere): it looks for a VM
        // by its own tag, finds none, and launches one.
        await world.Client.GetGrain<IManagementGrain>(0).ForceActivationCollection(TimeSpan.Zero);
        var own = await Eventually.Until(
            () => Task.FromResult(world.Compute.Vms.FirstOrDefault(v => v.LeaseId == leaseId)),
            vm => vm is not null,
            "the restarted lease launches its own VM");
        var booting = await world.LeaseReaches(leaseId, LeasePhase.Booting);
        Assert.Equal(own!.InstanceId, booting.InstanceId);
        Assert.Equal(1, world.Takes.Of(leaseId));

        // The pool's VM was taken by a lease that runs elsewhere: the pool ends it rather than leave it idle to its deadline.
        var pooled = Assert.Single(world.Compute.Vms, v => v.InstanceId == handedOut.InstanceId);
        await Eventually.Until(
            () =>
            {
                // The pool's wake-ups run on the fake clock: each check period of it is one.
                world.Clock.Advance(TimeSpan.FromSeconds(1));
                return Task.FromResult(pooled.State);
            },
            state => state is InstanceState.ShuttingDown or InstanceState.Terminated,
            "the pool ends the VM its taker did not adopt");
        Assert.Equal(InstanceState.Pending, own.State);
    }

    public sealed class PooledCluster : LifecycleCluster
    {
        protected override IReadOnlyDictionary<string, string?> Settings => OneIdlePoolVm;

        private int _refuse;

        public TakeCounter Takes { get; } = new();

        public bool RefusedTakeWrite => Volatile.Read(ref _refused) == 1;

        private int _refused;

        public void RefuseFirstTakeWrite() => _refuse = 1;

        protected override void ConfigureSilo(IServiceCollection services)
        {
            services.AddSingleton<IIncomingGrainCallFilter>(Takes);
            DecorateGrainStorage(services, inner => new TakeRefusingStorage(inner, this));
        }

        private sealed class TakeRefusingStorage(IGrainStorage inner, PooledCluster cluster) : IGrainStorage
        {
            public Task ReadStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState) => inner.ReadStateAsync(stateName, grainId, grainState);

            public Task WriteStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState)
            {
                if (grainState.State is LeaseState { PoolVmId: not null } && Interlocked.Exchange(ref cluster._refuse, 0) == 1)
                {
                    Volatile.Write(ref cluster._refused, 1);
                    throw new InvalidOperationException($"Storage refused the write of {grainId}'s pool take (test).");
                }

                return inner.WriteStateAsync(stateName, grainId, grainState);
            }

            public Task ClearStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState) => inner.ClearStateAsync(stateName, grainId, grainState);
        }
    }

    /// <summary>Counts each lease's takes as they reach the pool.</summary>
    public sealed class TakeCounter : IIncomingGrainCallFilter
    {
        private readonly ConcurrentDictionary<Guid, int> _takes = new();

        public int Of(Guid leaseId) => _takes.GetValueOrDefault(leaseId);

        public Task Invoke(IIncomingGrainCallContext context)
        {
            ArgumentNullException.ThrowIfNull(context);
            if (context.InterfaceMethod.Name == nameof(IPoolGrain.Take) && context.Request.GetArgument(0) is Guid leaseId)
            {
                _takes.AddOrUpdate(leaseId, 1, (_, n) => n + 1);
            }

            return context.Invoke();
        }
    }
}
