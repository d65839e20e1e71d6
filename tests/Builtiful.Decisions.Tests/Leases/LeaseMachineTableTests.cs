using Builtiful.Leases;

namespace Builtiful.Decisions.Tests.Leases;

/// <summary>Every phase against every event: the phase that follows and the commands, in order. Unlisted pairs change neither.</summary>
public sealed class LeaseMachineTableTests
{
    private const string Termination = "CancelLaunch,TerminateVm";
    private const string End = "StopTerminationPoll,AppendHistory,ReportEnded,Deactivate";

    /// <summary>Phase, event: phase after, commands. A pair missing here must leave the phase alone and give no command.</summary>
    private static readonly Dictionary<(LeasePhase, string), (LeasePhase Phase, string Commands)> Changes = new()
    {
        [(LeasePhase.Launching, "ordered")] = (LeasePhase.Launching, "ScheduleLaunch"),
        [(LeasePhase.Launching, "activated")] = (LeasePhase.Launching, "ScheduleLaunch"),
        [(LeasePhase.Launching, "launch due")] = (LeasePhase.Launching, "LaunchVm"),
        [(LeasePhase.Launching, "launch succeeded")] = (LeasePhase.Booting, "TerminateStrays"),
        // A pool VM is the lease's as if it had launched it; a miss launches as ever, without looking for an earlier VM.
        [(LeasePhase.Launching, "pool taken")] = (LeasePhase.Booting, ""),
        [(LeasePhase.Launching, "pool missed")] = (LeasePhase.Launching, "LaunchVm"),
        [(LeasePhase.Launching, "launch failed")] = (LeasePhase.Launching, "ScheduleLaunch,ReportWaiting"),
        [(LeasePhase.Launching, "launch refused")] = (LeasePhase.Launching, "CleanUpLaunches"),
        [(LeasePhase.Launching, "tick")] = (LeasePhase.Launching, "ScheduleLaunch"),
        // A launch that still waits for capacity is resumed, not released: only its give-up instant ends it.
        [(LeasePhase.Launching, "tick past boot deadline")] = (LeasePhase.Launching, "ScheduleLaunch"),
        [(LeasePhase.Launching, "tick past expiry")] = (LeasePhase.Terminating, Termination),
        [(LeasePhase.Launching, "vm went away")] = (LeasePhase.Terminating, Termination),
        [(LeasePhase.Launching, "job bound")] = (LeasePhase.Busy, ""),
        [(LeasePhase.Launching, "job completed")] = (LeasePhase.Terminating, Termination),
        [(LeasePhase.Launching, "released")] = (LeasePhase.Terminating, Termination),
        [(LeasePhase.Launching, "runner removed")] = (LeasePhase.Terminating, Termination),
        [(LeasePhase.Launching, "terminate ordered")] = (LeasePhase.Terminating, Termination),
        [(LeasePhase.Launching, "cleanup done")] = (LeasePhase.Failed, End),
        // No instance known yet (the launch answer is late): the VM asks again, and a resumed launch adopts it.
        [(LeasePhase.Launching, "claim")] = (LeasePhase.Launching, "ScheduleLaunch"),
        [(LeasePhase.Launching, "claim from another instance")] = (LeasePhase.Launching, "ScheduleLaunch"),

        [(LeasePhase.Launching, "config mint refused")] = (LeasePhase.Terminating, Termination),

        [(LeasePhase.Booting, "claim")] = (LeasePhase.Booting, "MintRunnerConfig"),
        // GitHub refusing the claimed config for good ends the lease as a refused launch does.
        [(LeasePhase.Booting, "config mint refused")] = (LeasePhase.Terminating, Termination),
        [(LeasePhase.Idle, "config mint refused")] = (LeasePhase.Terminating, Termination),
        [(LeasePhase.Busy, "config mint refused")] = (LeasePhase.Terminating, Termination),
        [(LeasePhase.Booting, "claim from another instance")] = (LeasePhase.Terminating, Termination),
        [(LeasePhase.Booting, "config minted")] = (LeasePhase.Idle, ""),
        [(LeasePhase.Idle, "claim")] = (LeasePhase.Idle, "MintRunnerConfig"),
        [(LeasePhase.Idle, "claim from another instance")] = (LeasePhase.Terminating, Termination),
        [(LeasePhase.Busy, "claim")] = (LeasePhase.Busy, "MintRunnerConfig"),
        [(LeasePhase.Busy, "claim from another instance")] = (LeasePhase.Terminating, Termination),

        [(LeasePhase.Booting, "tick")] = (LeasePhase.Booting, "DescribeVm"),
        [(LeasePhase.Booting, "tick past boot deadline")] = (LeasePhase.Booting, "RemoveRunner"),
        [(LeasePhase.Booting, "tick past expiry")] = (LeasePhase.Terminating, Termination),
        [(LeasePhase.Booting, "vm running")] = (LeasePhase.Idle, ""),
        [(LeasePhase.Booting, "vm went away")] = (LeasePhase.Terminating, Termination),
        [(LeasePhase.Booting, "job bound")] = (LeasePhase.Busy, ""),
        [(LeasePhase.Booting, "job completed")] = (LeasePhase.Terminating, Termination),
        [(LeasePhase.Booting, "released")] = (LeasePhase.Booting, "RemoveRunner"),
        [(LeasePhase.Booting, "runner removed")] = (LeasePhase.Terminating, Termination),
        [(LeasePhase.Booting, "terminate ordered")] = (LeasePhase.Terminating, Termination),

        [(LeasePhase.Idle, "tick past boot deadline")] = (LeasePhase.Idle, "RemoveRunner"),
        [(LeasePhase.Idle, "tick past expiry")] = (LeasePhase.Terminating, Termination),
        [(LeasePhase.Idle, "vm went away")] = (LeasePhase.Terminating, Termination),
        [(LeasePhase.Idle, "job bound")] = (LeasePhase.Busy, ""),
        [(LeasePhase.Idle, "job completed")] = (LeasePhase.Terminating, Termination),
        [(LeasePhase.Idle, "released")] = (LeasePhase.Idle, "RemoveRunner"),
        [(LeasePhase.Idle, "runner removed")] = (LeasePhase.Terminating, Termination),
        [(LeasePhase.Idle, "vm vanished")] = (LeasePhase.Idle, "RemoveRunner"),
        [(LeasePhase.Idle, "terminate ordered")] = (LeasePhase.Terminating, Termination),

        [(LeasePhase.Busy, "tick past expiry")] = (LeasePhase.Terminating, Termination),
        [(LeasePhase.Busy, "vm went away")] = (LeasePhase.Terminating, Termination),
        [(LeasePhase.Busy, "job completed")] = (LeasePhase.Terminating, Termination),
        [(LeasePhase.Busy, "runner removed")] = (LeasePhase.Terminating, Termination),
        [(LeasePhase.Busy, "vm vanished")] = (LeasePhase.Busy, "RemoveRunner"),
        [(LeasePhase.Busy, "terminate ordered")] = (LeasePhase.Terminating, Termination),

        [(LeasePhase.Terminating, "tick")] = (LeasePhase.Terminating, "TerminateVm"),
        [(LeasePhase.Terminating, "tick past boot deadline")] = (LeasePhase.Terminating, "TerminateVm"),
        [(LeasePhase.Terminating, "tick past expiry")] = (LeasePhase.Terminating, "TerminateVm"),
        [(LeasePhase.Terminating, "poll due")] = (LeasePhase.Terminating, "TerminateVm"),
        [(LeasePhase.Terminating, "termination confirmed")] = (LeasePhase.Terminated, End),
        [(LeasePhase.Terminating, "termination pending")] = (LeasePhase.Terminating, "StartTerminationPoll"),
        [(LeasePhase.Terminating, "termination failed")] = (LeasePhase.Terminating, "StartTerminationPoll"),

        // An ended lease only repeats its "lease ended" (a lost one frees the slot) and forgets its job on retention.
        [(LeasePhase.Terminated, "tick")] = (LeasePhase.Terminated, "ReportEnded,Deactivate"),
        [(LeasePhase.Terminated, "tick past boot deadline")] = (LeasePhase.Terminated, "ReportEnded,Deactivate"),
        [(LeasePhase.Terminated, "tick past expiry")] = (LeasePhase.Terminated, "ReportEnded,Deactivate"),
        [(LeasePhase.Terminated, "forgotten")] = (LeasePhase.Terminated, "Deactivate"),
        [(LeasePhase.Failed, "tick")] = (LeasePhase.Failed, "ReportEnded,Deactivate"),
        [(LeasePhase.Failed, "tick past boot deadline")] = (LeasePhase.Failed, "ReportEnded,Deactivate"),
        [(LeasePhase.Failed, "tick past expiry")] = (LeasePhase.Failed, "ReportEnded,Deactivate"),
        [(LeasePhase.Failed, "forgotten")] = (LeasePhase.Failed, "Deactivate"),
    };

    public static TheoryData<LeasePhase, string> Pairs()
    {
        var pairs = new TheoryData<LeasePhase, string>();
        foreach (var phase in Enum.GetValues<LeasePhase>())
        {
            foreach (var name in LeaseWorld.Events.Keys)
            {
                pairs.Add(phase, name);
            }
        }

        return pairs;
    }

    [Theory]
    [MemberData(nameof(Pairs))]
    public void Each_phase_answers_each_event_with_its_next_phase_and_commands(LeasePhase phase, string name)
    {
        var (@event, at) = LeaseWorld.Events[name];
        var (expectedPhase, expectedCommands) = Changes.TryGetValue((phase, name), out var change) ? change : (phase, "");

        var decision = LeaseWorld.Machine.Decide(LeaseWorld.In(phase), @event, at);

        Assert.Equal(expectedPhase, decision.State.Phase);
        Assert.Equal(expectedCommands, LeaseWorld.Names(decision.Commands));
    }

    [Theory]
    [InlineData(LeasePhase.Booting)]
    [InlineData(LeasePhase.Idle)]
    [InlineData(LeasePhase.Busy)]
    public void A_second_claim_is_refused_and_terminates_the_VM_while_a_wrong_token_changes_nothing(LeasePhase phase)
    {
        var claim = LeaseWorld.Events["claim"].Event;
        var first = LeaseWorld.Machine.Decide(LeaseWorld.In(phase), claim, LeaseWorld.Soon);
        var minted = LeaseWorld.Machine.Decide(first.State, new RunnerConfigMinted(), LeaseWorld.Soon);
        Assert.Equal(ClaimOutcome.Granted, minted.Answer);
        Assert.Equal(LeaseWorld.Soon, minted.State.ClaimedAt);

        var second = LeaseWorld.Machine.Decide(minted.State, claim, LeaseWorld.Soon);
        var wrongToken = LeaseWorld.Machine.Decide(minted.State, LeaseWorld.Events["claim, wrong token"].Event, LeaseWorld.Soon);

        Assert.Equal(ClaimOutcome.AlreadyClaimed, second.Answer);
        Assert.Equal(LeasePhase.Terminating, second.State.Phase);
        Assert.Equal(Termination, LeaseWorld.Names(second.Commands));
        Assert.Contains("second claim", second.State.EndReason, StringComparison.Ordinal);
        Assert.Equal(ClaimOutcome.WrongToken, wrongToken.Answer);
        Assert.Equal(minted.State, wrongToken.State);
    }

    [Theory]
    [InlineData("claim", LeasePhase.Launching, ClaimOutcome.NotYet)]
    [InlineData("claim", LeasePhase.Terminating, ClaimOutcome.LeaseOver)]
    [InlineData("claim", LeasePhase.Terminated, ClaimOutcome.LeaseOver)]
    [InlineData("claim, wrong token", LeasePhase.Idle, ClaimOutcome.WrongToken)]
    [InlineData("claim, wrong token", LeasePhase.Terminated, ClaimOutcome.WrongToken)]
    [InlineData("claim from another instance", LeasePhase.Idle, ClaimOutcome.WrongInstance)]
    [InlineData("config mint failed", LeasePhase.Booting, ClaimOutcome.NotYet)]
    [InlineData("config mint refused", LeasePhase.Idle, ClaimOutcome.LeaseOver)]
    public void Each_claim_gets_its_answer(string name, LeasePhase phase, ClaimOutcome expected)
    {
        Assert.Equal(expected, LeaseWorld.Machine.Decide(LeaseWorld.In(phase), LeaseWorld.Events[name].Event, LeaseWorld.Soon).Answer);
    }

    [Fact]
    public void A_config_GitHub_refuses_for_good_ends_the_lease_failed_and_refused_once_its_VM_is_gone()
    {
        var claimed = LeaseWorld.Machine.Decide(LeaseWorld.In(LeasePhase.Idle), LeaseWorld.Events["claim"].Event, LeaseWorld.Soon);
        var refused = LeaseWorld.Machine.Decide(claimed.State, LeaseWorld.Events["config mint refused"].Event, LeaseWorld.Soon);
        var gone = LeaseWorld.Machine.Decide(refused.State, new TerminationObserved(Gone: true), LeaseWorld.Soon);

        Assert.Equal(ClaimOutcome.LeaseOver, refused.Answer);
        Assert.True(refused.State.Refused); // the organisation gives the job no other lease
        Assert.Null(refused.State.ClaimedAt);
        Assert.Contains("Resource not accessible by integration", refused.State.EndReason, StringComparison.Ordinal);
        Assert.Equal(LeasePhase.Failed, gone.State.Phase);
        Assert.Equal(End, LeaseWorld.Names(gone.Commands));
    }

    [Fact]
    public void A_claim_with_a_stranger_token_for_an_unknown_lease_is_refused()
    {
        Assert.Equal(ClaimOutcome.UnknownLease, LeaseWorld.Machine.Decide(new LeaseState(), LeaseWorld.Events["claim, wrong token"].Event, LeaseWorld.Soon).Answer);
    }

    [Fact]
    public void A_claim_with_the_leases_own_token_for_an_unknown_lease_waits_for_the_repaired_order()
    {
        // The order is not written on its own: a lease whose activation died after its launch is unknown until the
        // organisation orders it again, and its VM, whose token proves the lease was ordered, asks again meanwhile.
        var decision = LeaseWorld.Machine.Decide(new LeaseState(), LeaseWorld.Events["claim"].Event, LeaseWorld.Soon);
        Assert.Equal(ClaimOutcome.NotYet, decision.Answer);
        Assert.Empty(decision.Commands);
        Assert.False(decision.State.Known);
    }

    [Fact]
    public void An_order_is_not_written_on_its_own()
    {
        var stored = LeaseWorld.Machine.Decide(new LeaseState(), new RetentionJoined(LeaseWorld.LeaseId, LeaseWorld.Order, LeaseWorld.Ordered), LeaseWorld.Ordered);
        Assert.Equal(LeasePhase.Launching, stored.State.Phase);
        Assert.Equal(LeaseWrite.Defer, stored.Write);
    }

    [Fact]
    public void Every_listed_change_names_a_real_event()
    {
        Assert.All(Changes.Keys, key => Assert.Contains(key.Item2, LeaseWorld.Events.Keys));
    }
}
