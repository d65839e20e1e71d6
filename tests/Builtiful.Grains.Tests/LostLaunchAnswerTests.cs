using Builtiful.Leases;
using Builtiful.Providers;

namespace Builtiful.Grains.Tests;

/// <summary>A cloud that launches every VM but loses every answer: the lease must find the VM it made.</summary>
public sealed class LostLaunchAnswerTests(LostLaunchAnswerTests.Cloud world) : IClassFixture<LostLaunchAnswerTests.Cloud>
{
    [Fact]
    public async Task A_launch_retried_after_its_answer_was_lost_keeps_the_VM_it_made_instead_of_launching_another()
    {
        var installationId = await world.InstallAsync();
        var leaseId = await world.QueueAsync(LifecycleCluster.NewJobId(), installationId);

        var lease = await world.LeaseReaches(leaseId, LeasePhase.Booting);

        var vm = Assert.Single(world.Compute.Vms, v => v.LeaseId == leaseId);
        Assert.Equal(vm.InstanceId, lease.InstanceId);
        Assert.Equal(InstanceState.Pending, vm.State);
        Assert.Equal(2, lease.LaunchAttempts);
    }

    public sealed class Cloud : LifecycleCluster
    {
        protected override IReadOnlyDictionary<string, string?> Settings { get; } = new Dictionary<string, string?>
        {
            ["Simulation:Faults:LostLaunchResponseRate"] = "1",
        };
    }
}
