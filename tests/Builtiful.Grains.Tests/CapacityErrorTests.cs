using Builtiful.Jobs;

namespace Builtiful.Grains.Tests;

/// <summary>A cloud out of capacity: a lease that used up its launch attempts is a failed VM, not a refusal.</summary>
public sealed class CapacityErrorTests(CapacityErrorTests.Cloud world) : IClassFixture<CapacityErrorTests.Cloud>
{
    [Fact]
    public async Task A_job_whose_lease_ran_out_of_launch_attempts_on_capacity_errors_gets_another_until_its_provision_attempts_are_used()
    {
        var installationId = await world.InstallAsync();
        var jobId = LifecycleCluster.NewJobId();

        Assert.Equal(JobEventOutcome.Applied, await world.Job(jobId).Apply(LifecycleCluster.JobEvent(jobId, installationId, JobStatus.Queued)));

        // Organisations:ProvisionAttempts is 3: three leases, each failing all of its launch attempts.
        var job = await Eventually.Until(() => world.Job(jobId).GetView(), v => v?.RejectionReason is not null, "the job fails to provision");
        Assert.StartsWith("failed to provision: 3 VMs ended", job!.RejectionReason, StringComparison.Ordinal);
        Assert.Contains("InsufficientInstanceCapacity", job.RejectionReason, StringComparison.Ordinal);
        Assert.DoesNotContain(await world.Organisation(installationId).GetPendingJobs(), p => p.JobId == jobId);
        Assert.Equal(0, (await world.Organisation(installationId).GetView()).LiveLeases);
    }

    public sealed class Cloud : LifecycleCluster
    {
        protected override IReadOnlyDictionary<string, string?> Settings { get; } = new Dictionary<string, string?>
        {
            ["Simulation:Faults:LaunchCapacityErrorRate"] = "1",
        };
    }
}
