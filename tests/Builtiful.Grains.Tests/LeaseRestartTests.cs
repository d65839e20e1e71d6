using Builtiful.Jobs;
using Builtiful.Leases;
using Builtiful.Providers;
using Microsoft.Extensions.DependencyInjection;
using Orleans.Storage;

namespace Builtiful.Grains.Tests;

/// <summary>
/// A lease writes neither its VM's id nor "terminating" on their own (docs/performance.md, "Fewer writes in a lease's own
/// life"). A lease reloaded from storage after those steps, with what they decided lost, still ends its VM by its
/// deadline, judged by the simulated cloud's record.
/// </summary>
public sealed class LeaseRestartTests(LeaseRestartTests.RefusingCluster world) : IClassFixture<LeaseRestartTests.RefusingCluster>
{
    [Fact]
    public async Task A_lease_reloaded_after_its_launch_finds_its_VM_again_and_ends_it_at_the_boot_deadline()
    {
        var installationId = await world.InstallAsync();
        var leaseId = await world.QueueAsync(LifecycleCluster.NewJobId(), installationId);
        var launched = await world.LeaseReaches(leaseId, LeasePhase.Booting);

        await ReloadEverythingAsync();

        // The reloaded lease resumes its launch with the same attempt: it finds the VM by its lease tag and keeps it.
        var resumed = await world.LeaseReaches(leaseId, LeasePhase.Booting);
        Assert.Equal(launched.InstanceId, resumed.InstanceId);
        var vm = Assert.Single(world.Compute.Vms, v => v.LeaseId == leaseId);

        world.Clock.Advance(LeaseWorldTimes.BootDeadline + TimeSpan.FromSeconds(1));

        var ended = await world.LeaseReaches(leaseId, LeasePhase.Terminated);
        Assert.Contains("boot deadline", ended.EndReason, StringComparison.Ordinal);
        Assert.Equal(InstanceState.Terminated, vm.State);
        Assert.True(vm.TerminatedAt <= launched.BootDeadline + LeaseWorldTimes.CheckPeriod, $"terminated at {vm.TerminatedAt:O}");
        Assert.Single(world.Compute.Vms, v => v.LeaseId == leaseId);
    }

    [Fact]
    public async Task A_lease_reloaded_after_its_launch_and_left_alone_ends_its_VM_by_its_maximum_lifetime()
    {
        var installationId = await world.InstallAsync();
        var leaseId = await world.QueueAsync(LifecycleCluster.NewJobId(), installationId);
        var launched = await world.LeaseReaches(leaseId, LeasePhase.Booting);
        var vm = Assert.Single(world.Compute.Vms, v => v.LeaseId == leaseId);

        await ReloadEverythingAsync();
        world.Clock.Advance(launched.ExpiresAt!.Value - world.Clock.GetUtcNow() + TimeSpan.FromSeconds(1));

        // Reloaded as launching, the lease either found its VM again first (and terminates it at the maximum lifetime)
        // or is past its give-up time too (and cleans up every VM its tag finds): either way the VM goes.
        var ended = await Eventually.Until(async () => (await world.Lease(leaseId).GetView())!, v => v.Phase.IsFinal(), $"lease {leaseId} ends");
        Assert.NotNull(ended.EndReason);
        Assert.Equal(InstanceState.Terminated, vm.State);
        Assert.True(vm.TerminatedAt <= launched.ExpiresAt + LeaseWorldTimes.CheckPeriod, $"terminated at {vm.TerminatedAt:O}");
    }

    [Fact]
    public async Task A_lease_whose_end_was_not_written_after_its_VM_went_is_ended_by_the_organisations_look_and_the_job_is_billed_once()
    {
        var installationId = await world.InstallAsync();
        var jobId = LifecycleCluster.NewJobId();
        var leaseId = await world.QueueAsync(jobId, installationId);
        await world.LeaseReaches(leaseId, LeasePhase.Booting);
        var runner = RunnerNames.ForLease(leaseId);
        var started = world.Clock.GetUtcNow();
        await world.Job(jobId).Apply(LifecycleCluster.JobEvent(jobId, installationId, JobStatus.InProgress, runnerName: runner) with { StartedAt = started });
        var vm = Assert.Single(world.Compute.Vms, v => v.LeaseId == leaseId);

        // The VM is terminated and confirmed gone, then the one write of the lease's end fails (the silo dies there):
        // "terminating" was never written, so the stored lease is still busy and the job's completed is not answered.
        world.Refusals.RefuseNext(((GrainReference)world.Lease(leaseId)).GrainId);
        // GitHub's completed names the runner and the start again: the job's in_progress is not written on its own.
        var completed = LifecycleCluster.JobEvent(jobId, installationId, JobStatus.Completed, runnerName: runner, conclusion: "success") with { StartedAt = started };
        await Assert.ThrowsAnyAsync<Exception>(() => world.Job(jobId).Apply(completed));
        Assert.Equal(InstanceState.Terminated, vm.State);
        await ReloadEverythingAsync();

        // Nothing is redelivered: the organisation's look at its Busy VMs finds this one gone and the lease ends.
        var ended = await world.LeaseReaches(leaseId, LeasePhase.Terminated);
        Assert.Contains($"instance {vm.InstanceId} is terminated", ended.EndReason, StringComparison.Ordinal);
        await Eventually.Until(async () => (await world.Organisation(installationId).GetView()).LeaseIds, ids => !ids.Contains(leaseId), "the organisation frees the slot");

        // GitHub's redelivery of completed is applied once and bills the job once.
        Assert.Equal(JobEventOutcome.Applied, await world.Job(jobId).Apply(completed));
        var job = (await world.Job(jobId).GetView())!;
        Assert.Equal(leaseId, job.LeaseId);
        var usage = world.Client.GetGrain<Builtiful.Usage.IUsageGrain>(Builtiful.Usage.UsageMonth.Key(installationId, Builtiful.Usage.UsageMonth.Of(job.CompletedAt!.Value)));
        var runs = await Eventually.Until(async () => (await usage.GetRuns(0, 10)).Items, r => r.Any(run => run.JobId == jobId), $"job {jobId} is billed");
        Assert.Single(runs, r => r.JobId == jobId);
        Assert.Single(world.Compute.Vms, v => v.LeaseId == leaseId);
    }

    /// <summary>Every idle activation goes, as on a silo restart: the next call loads what storage holds.</summary>
    private Task ReloadEverythingAsync() => world.Client.GetGrain<IManagementGrain>(0).ForceActivationCollection(TimeSpan.Zero);

    private static class LeaseWorldTimes
    {
        public static readonly TimeSpan BootDeadline = new LeaseOptions().BootDeadline;

        public static readonly TimeSpan CheckPeriod = new LeaseOptions().CheckPeriod;
    }

    public sealed class RefusingCluster : LifecycleCluster
    {
        public RefusingStorage.Refusals Refusals { get; } = new();

        protected override void ConfigureSilo(IServiceCollection services)
        {
            DecorateGrainStorage(services, inner => new RefusingStorage(inner, Refusals));
        }
    }
}
