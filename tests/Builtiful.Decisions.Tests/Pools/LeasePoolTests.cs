using Builtiful.Leases;
using Builtiful.Pools;
using Builtiful.Decisions.Tests.Leases;

namespace Builtiful.Decisions.Tests.Pools;

/// <summary>A lease that takes a warm pool VM: it goes on as if it had launched it, and claims with the pool VM's token.</summary>
public sealed class LeasePoolTests
{
    private static readonly LeaseMachine Machine = LeaseWorld.Machine;
    private static readonly PoolTake Take = new() { VmId = Guid.Parse("6f1c2a3b-0000-4000-8000-0000000000bb"), InstanceId = "i-pool", LaunchedAt = LeaseWorld.Ordered, Ready = true };

    [Fact]
    public void A_taken_pool_vm_is_the_leases_vm_and_its_claim_mints_the_config()
    {
        var taken = Machine.Decide(LeaseWorld.Launching(), new PoolTaken("linux", Take), LeaseWorld.Soon);
        Assert.Equal(LeasePhase.Booting, taken.State.Phase);
        Assert.Equal("i-pool", taken.State.InstanceId);
        Assert.Equal(Take.VmId, taken.State.PoolVmId);
        Assert.Equal("linux", taken.State.Pool);
        Assert.Empty(taken.Commands);

        var claim = Machine.Decide(taken.State, new ClaimRequested("i-pool", TokenMatches: true, LaunchPending: false), LeaseWorld.Soon);
        Assert.Equal(new MintRunnerConfig(), Assert.Single(claim.Commands));
        var minted = Machine.Decide(claim.State, new RunnerConfigMinted(), LeaseWorld.Soon);
        Assert.Equal(ClaimOutcome.Granted, minted.Answer);
        Assert.Equal(LeasePhase.Idle, minted.State.Phase);
    }

    [Fact]
    public void A_claim_for_a_taken_pool_vm_from_another_instance_or_twice_is_refused_and_ends_the_vm()
    {
        var taken = Machine.Decide(LeaseWorld.Launching(), new PoolTaken("linux", Take), LeaseWorld.Soon).State;
        var other = Machine.Decide(taken, new ClaimRequested("i-evil", TokenMatches: true, LaunchPending: false), LeaseWorld.Soon);
        Assert.Equal(ClaimOutcome.WrongInstance, other.Answer);
        Assert.Equal(LeasePhase.Terminating, other.State.Phase);

        var claimed = taken with { ClaimedAt = LeaseWorld.Soon, Phase = LeasePhase.Idle };
        var twice = Machine.Decide(claimed, new ClaimRequested("i-pool", TokenMatches: true, LaunchPending: false), LeaseWorld.Soon);
        Assert.Equal(ClaimOutcome.AlreadyClaimed, twice.Answer);
        Assert.Equal(LeasePhase.Terminating, twice.State.Phase);
    }

    [Fact]
    public void A_pool_answer_for_a_lease_that_already_has_a_vm_changes_nothing()
    {
        var booting = LeaseWorld.In(LeasePhase.Booting);
        var late = Machine.Decide(booting, new PoolTaken("linux", Take), LeaseWorld.Soon);
        Assert.Equal(booting, late.State);
        Assert.Empty(late.Commands);
        var launching = LeaseWorld.Launching() with { InstanceId = "i-own" };
        Assert.Empty(Machine.Decide(launching, new PoolMissed(), LeaseWorld.Soon).Commands);
    }

    [Fact]
    public void A_resumed_or_retried_attempt_never_asks_the_pool()
    {
        var resumed = Machine.Decide(LeaseWorld.Launching(), new LaunchDue(FirstAttemptUnsent: false), LeaseWorld.Soon);
        Assert.IsType<LaunchVm>(Assert.Single(resumed.Commands));
        var failed = Machine.Decide(LeaseWorld.Launching(), new LaunchFailed(1, "capacity", Permanent: false), LeaseWorld.Soon).State;
        var retried = Machine.Decide(failed, new LaunchDue(FirstAttemptUnsent: true), LeaseWorld.Soon + TimeSpan.FromMinutes(5));
        Assert.Equal(new LaunchVm(1, LookForEarlier: false), Assert.Single(retried.Commands));
    }
}
