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

        await world.ReloadEverythingAsync();

        // Nothing of the lease was stored (its order rides its next write): the organisation's check finds it unknown and
        // orders it again as a repair, which looks for the VM by its lease tag before launching, and keeps it.
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

        await world.ReloadEverythingAsync();
        world.Clock.Advance(launched.ExpiresAt!.Value - world.Clock.GetUtcNow() + TimeSpan.FromSeconds(1));

        // Nothing of the lease was stored (its order rides its next write): the organisation's check finds it unknown and
        // orders it again, with the first order's time, so the repaired lease is past its lifetime at once and cleans up
        // every VM its tag finds.
        var ended = await Eventually.Until(async () => (await world.Lease(leaseId).GetView())!, v => v is not null && v.Phase.IsFinal(), $"lease {leaseId} ends");
        Assert.Equal(launched.ExpiresAt, ended.ExpiresAt);
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
        await world.ReloadEverythingAsync();

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

    [Fact]
    public async Task The_VM_of_a_lease_lost_before_its_first_write_is_not_refused_and_gets_its_config_once_the_lease_is_repaired()
    {
        var installationId = await world.InstallAsync();
        var leaseId = await world.QueueAsync(LifecycleCluster.NewJobId(), installationId);
        var launched = await world.LeaseReaches(leaseId, LeasePhase.Booting);
        var token = ClaimTokens.For(LifecycleCluster.ClaimKey, leaseId, 1);
        await world.ReloadEverythingAsync();

        // Until the repair, the VM's claims are answered "not yet" (its token proves the lease was ordered), never refused.
        var answer = await Eventually.Until(
            () => world.Lease(leaseId).Claim(new ClaimRequest { InstanceId = launched.InstanceId!, Token = token }),
            a => a.Outcome is not ClaimOutcome.NotYet,
            "the repaired lease grants the claim");
        Assert.Equal(ClaimOutcome.Granted, answer.Outcome);
        Assert.Single(world.Compute.Vms, v => v.LeaseId == leaseId);
        Assert.Equal(launched.InstanceId, (await world.Lease(leaseId).GetView())!.InstanceId);
    }

    [Fact]
    public async Task A_lease_lost_before_its_first_write_keeps_its_slot_and_is_repaired_onto_its_VM()
    {
        var installationId = await world.InstallAsync();
        var leaseId = await world.QueueAsync(LifecycleCluster.NewJobId(), installationId);
        var launched = await world.LeaseReaches(leaseId, LeasePhase.Booting);
        await world.ReloadEverythingAsync();
        Assert.Null(await world.Lease(leaseId).GetView());

        // Unknown is not gone: the reconciler's look for ended leases leaves the slot to the repair. (In chaos, freeing it
        // raced a repair under way and left a live lease no slot checked; here the organisation's own reactivation usually
        // repairs the lease first, so this holds the outcome, not that interleaving.)
        Assert.Equal(0, await world.Organisation(installationId).Reconcile());
        Assert.Contains(leaseId, (await world.Organisation(installationId).GetView()).LeaseIds);

        var resumed = await world.LeaseReaches(leaseId, LeasePhase.Booting);
        Assert.Equal(launched.InstanceId, resumed.InstanceId);
        Assert.Single(world.Compute.Vms, v => v.LeaseId == leaseId);
        Assert.Contains(leaseId, (await world.Organisation(installationId).GetView()).LeaseIds);
    }

    [Fact]
    public async Task A_claim_for_a_lease_nobody_ordered_is_refused_and_one_with_its_own_token_is_asked_to_wait()
    {
        var stranger = Guid.NewGuid();
        var own = await world.Lease(stranger).Claim(new ClaimRequest { InstanceId = "i-0123", Token = ClaimTokens.For(LifecycleCluster.ClaimKey, stranger, 1) });
        var forged = await world.Lease(stranger).Claim(new ClaimRequest { InstanceId = "i-0123", Token = ClaimTokens.For(LifecycleCluster.ClaimKey, Guid.NewGuid(), 1) });

        Assert.Equal(ClaimOutcome.NotYet, own.Outcome);
        Assert.Null(own.EncodedJitConfig);
        Assert.Equal(ClaimOutcome.UnknownLease, forged.Outcome);
        Assert.Null(await world.Lease(stranger).GetView());
    }

    [Fact]
    public async Task A_lease_restarted_without_the_job_its_runner_took_keeps_its_VM_while_GitHub_says_the_runner_is_busy_and_ends_with_the_job()
    {
        var installationId = await world.InstallAsync();
        var jobId = LifecycleCluster.NewJobId();
        var leaseId = await world.QueueAsync(jobId, installationId);
        var launched = await world.LeaseReaches(leaseId, LeasePhase.Booting);

        // The VM claims its config, its runner connects to GitHub, and GitHub hands it the job (its own record).
        var claim = await world.ClaimAsync(leaseId, launched.InstanceId!);
        Assert.Equal(ClaimOutcome.Granted, claim.Outcome);
        var session = world.GitHub.World.Connect(claim.EncodedJitConfig!)!;
        await world.GitHub.World.QueueJobAsync(new Simulation.GitHub.JobSpec { Repository = LifecycleCluster.Repository(installationId), Labels = ["builtiful-2vcpu-ubuntu-2404"], JobId = jobId });
        using var bound = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        Assert.Equal(jobId, (await session.WaitForJobAsync(bound.Token))!.JobId);

        // in_progress binds the lease in memory only; the silo's state is lost before anything else is written.
        var runner = RunnerNames.ForLease(leaseId);
        Assert.Equal(JobEventOutcome.Applied, await world.Job(jobId).Apply(LifecycleCluster.JobEvent(jobId, installationId, JobStatus.InProgress, runnerName: runner)));
        Assert.Equal(LeasePhase.Busy, (await world.Lease(leaseId).GetView())!.Phase);
        await world.ReloadEverythingAsync();
        Assert.Equal(LeasePhase.Idle, (await world.Lease(leaseId).GetView())!.Phase);

        // Past its boot deadline the Idle lease releases its runner, and GitHub refuses to remove a busy one: the VM stays.
        world.Clock.Advance(LeaseWorldTimes.BootDeadline + LeaseWorldTimes.CheckPeriod);
        await world.Lease(leaseId).Check();
        Assert.Equal(LeasePhase.Idle, (await world.Lease(leaseId).GetView())!.Phase);
        Assert.DoesNotContain(world.Compute.Vms, v => v.LeaseId == leaseId && v.TerminatedAt is not null);
        Assert.Contains(world.GitHub.World.Runners, r => r.Name == runner && r.RemovedAt is null);

        // The job's completed binds the lease and ends the VM; the end is stored with the job it ran.
        await session.CompleteAsync("success");
        Assert.Equal(JobEventOutcome.Applied, await world.Job(jobId).Apply(LifecycleCluster.JobEvent(jobId, installationId, JobStatus.Completed, runnerName: runner, conclusion: "success")));
        await world.LeaseReaches(leaseId, LeasePhase.Terminated);
        Assert.Single(world.Compute.Vms, v => v.LeaseId == leaseId && v.TerminatedAt is not null);
        await world.ReloadEverythingAsync();
        Assert.Equal(jobId, (await world.Lease(leaseId).GetView())!.JobId);
    }

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
