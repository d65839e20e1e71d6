using Builtiful.Pools;
using Builtiful.Providers;
using Builtiful.Simulation;
using Builtiful.Testing;
using Microsoft.Extensions.DependencyInjection;

namespace Builtiful.Grains.Tests;

/// <summary>
/// A warm pool whose tick is stuck (a launch whose answer never comes, whatever the pool's timeout says) still ends its
/// idle VMs on time: every silo's wake-up, and the pool's reminder while a tick runs, end what came due interleaved with
/// the stuck tick, and an operator's change of bounds is answered at once. Judged by the simulated cloud's record of the
/// VM, not by the pool's.
/// </summary>
public sealed class PoolDeadlineTests(PoolDeadlineTests.Cloud world) : IClassFixture<PoolDeadlineTests.Cloud>
{
    private static readonly TimeSpan IdleLifetime = TimeSpan.FromMinutes(40);

    [Fact]
    public async Task An_idle_vm_ends_at_its_hand_out_margin_while_the_pools_tick_waits_on_a_launch_that_never_answers()
    {
        var pool = world.Client.GetGrain<IPoolGrain>("linux");
        var first = await world.FirstPoolVmAsync("linux");

        // The next launch hangs and ignores its cancellation: the tick that asked for it cannot finish.
        world.Gate.HoldLaunches();
        var answer = await pool.Set(minIdle: 2, maxIdle: 2).WaitAsync(TimeSpan.FromSeconds(30));
        Assert.Null(answer.Error);
        Assert.Equal(2, answer.View!.MinIdle);
        await world.Gate.Held.Task.WaitAsync(TimeSpan.FromSeconds(30));

        // Past the first VM's hand-out margin (a quarter of its idle life left): only a wake-up can end it now.
        world.Clock.Advance(IdleLifetime - PoolMachine.HandOutMargin(IdleLifetime) + TimeSpan.FromSeconds(1));
        var state = await Eventually.Until(
            async () =>
            {
                // The silos' wake-ups run on the fake clock: each check period of it is one wake-up.
                world.Clock.Advance(TimeSpan.FromSeconds(1));
                return await world.Compute.DescribeAsync(first.InstanceId!, default);
            },
            s => s is InstanceState.ShuttingDown or InstanceState.Terminated,
            "the cloud ends the idle VM while the tick still waits");

        Assert.True(state is InstanceState.ShuttingDown or InstanceState.Terminated);
        Assert.False(world.Gate.Released, "the stuck launch was still unanswered when the idle VM ended");
        world.Gate.Release();
    }

    public sealed class Cloud : LifecycleCluster
    {
        public LaunchGate Gate { get; } = new();

        protected override IReadOnlyDictionary<string, string?> Settings => OneIdlePoolVm;

        protected override void ConfigureSilo(IServiceCollection services) =>
            services.AddSingleton<IComputeProvider>(sp => Gate.Over(sp.GetRequiredService<SimulatedComputeProvider>()));

        public override async Task DisposeAsync()
        {
            Gate.Release();
            await base.DisposeAsync();
        }
    }

    /// <summary>Once held, launches wait until the test releases them, deaf to their cancellation token; the rest passes through.</summary>
    public sealed class LaunchGate
    {
        private readonly TaskCompletionSource _release = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private volatile bool _holding;

        /// <summary>Set when the first launch is held.</summary>
        public TaskCompletionSource Held { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public bool Released => _release.Task.IsCompleted;

        public void HoldLaunches() => _holding = true;

        public void Release() => _release.TrySetResult();

        public IComputeProvider Over(SimulatedComputeProvider inner) => new Provider(this, inner);

        private sealed class Provider(LaunchGate gate, SimulatedComputeProvider inner) : DelegatingComputeProvider(inner)
        {
            public override async Task<LaunchedInstance> LaunchAsync(LaunchRequest request, CancellationToken cancellationToken)
            {
                if (gate._holding)
                {
                    gate.Held.TrySetResult();
                    await gate._release.Task;
                }

                return await Inner.LaunchAsync(request, CancellationToken.None);
            }
        }
    }
}
