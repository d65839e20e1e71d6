using Builtiful.Jobs;
using Builtiful.Leases;

namespace Builtiful.Grains.Tests;

/// <summary>A cloud out of capacity for a while: the job waits, saying why, and runs once capacity returns; it is never failed meanwhile.</summary>
public sealed class CapacityErrorTests(CapacityErrorTests.Cloud world) : IClassFixture<CapacityErrorTests.Cloud>
{
    [Fact]
    public async Task A_capacity_shortage_lasting_half_an_hour_ends_with_the_job_running_and_its_view_said_why_it_waited()
    {
        var installationId = await world.InstallAsync();
        var jobId = LifecycleCluster.NewJobId();
        var leaseId = await world.QueueAsync(jobId, installationId);

        var waiting = await Eventually.Until(() => world.Job(jobId).GetView(), v => v?.WaitingReason is not null, "the job says why it waits");
        Assert.Contains("InsufficientInstanceCapacity", waiting!.WaitingReason, StringComparison.Ordinal);
        Assert.Contains("next attempt at", waiting.WaitingReason, StringComparison.Ordinal);

        // Thirty minutes of fake time pass (past the boot deadline and any count of attempts) while every launch is refused.
        for (var minute = 0; minute < 30; minute++)
        {
            world.Clock.Advance(TimeSpan.FromMinutes(1));
            await Task.Delay(50);
        }

        var lease = await Eventually.Until(() => world.Lease(leaseId).GetView(), v => v!.LaunchAttempts >= 5, "the lease keeps trying");
        Assert.Equal(LeasePhase.Launching, lease!.Phase);
        var job = await world.Job(jobId).GetView();
        Assert.Null(job!.RejectionReason);
        Assert.DoesNotContain(world.Compute.Vms, vm => vm.LeaseId == leaseId);

        // Capacity returns: the same lease launches, and the job runs on it.
        world.Change("Simulation:Faults:LaunchCapacityErrorRate", "0");
        await Eventually.Until(() => Task.FromResult(world.Compute.Vms.Count(vm => vm.LeaseId == leaseId)), n => n == 1, "the VM is launched once capacity returns");
        await world.RunOnLeaseAsync(jobId, installationId, leaseId);
        var ran = await world.Job(jobId).GetView();
        Assert.Equal(JobStatus.Completed, ran!.Status);
        Assert.Equal(leaseId, ran.LeaseId);
        Assert.Null(ran.RejectionReason);
        Assert.Null(ran.WaitingReason);
    }

    public sealed class Cloud : LifecycleCluster
    {
        protected override IReadOnlyDictionary<string, string?> Settings { get; } = new Dictionary<string, string?>
        {
            ["Simulation:Faults:LaunchCapacityErrorRate"] = "1",
            // Retry pauses run on grain timers (wall time): keep them short so the test is quick.
            ["Leases:LaunchRetryMaxDelay"] = "00:00:00.300",
        };
    }
}
