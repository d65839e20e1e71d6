using Builtiful.Leases;

namespace Builtiful.Decisions.Tests.Leases;

/// <summary>
/// Which decided states the grain may keep in memory until its next write (issue 19), and the crash-safety points that
/// must still be written before their commands run.
/// </summary>
public sealed class LeaseWriteTests
{
    private static readonly LeaseMachine Machine = LeaseWorld.Machine;

    [Fact]
    public void A_launched_VM_is_not_written_and_a_lease_restarted_without_it_launches_the_same_attempt_looking_for_it_first()
    {
        var launching = LeaseWorld.Launching();
        var launched = Machine.Decide(launching, new LaunchSucceeded(1, "i-1", LeaseWorld.Soon, Adopted: false), LeaseWorld.Soon);
        Assert.Equal(LeaseWrite.Defer, launched.Write);
        Assert.Equal(LeasePhase.Booting, launched.State.Phase);
        Assert.Equal("i-1", launched.State.InstanceId);

        // The stored state is still the order: a new activation resumes the launch with attempt 1 (its ClientToken) and
        // looks for the VM by its lease tag before it asks the provider.
        var resumed = Machine.Decide(launching, new Activated(), LeaseWorld.Soon);
        Assert.Equal(new ScheduleLaunch(TimeSpan.Zero), Assert.Single(resumed.Commands));
        var due = Machine.Decide(resumed.State, new LaunchDue(FirstAttemptUnsent: false), LeaseWorld.Soon);
        Assert.Equal(new LaunchVm(1, LookForEarlier: true), Assert.Single(due.Commands));
        var adopted = Machine.Decide(due.State, new LaunchSucceeded(1, "i-1", null, Adopted: true), LeaseWorld.Soon);
        Assert.Equal("i-1", adopted.State.InstanceId);
        Assert.Equal(new TerminateStrays("i-1"), Assert.Single(adopted.Commands));
    }

    [Fact]
    public void A_VM_taken_from_a_pool_is_written_at_once()
    {
        var taken = Machine.Decide(LeaseWorld.Launching(), LeaseWorld.Events["pool taken"].Event, LeaseWorld.Soon);
        Assert.Equal(LeasePhase.Booting, taken.State.Phase);
        Assert.Equal(LeaseWrite.WhenChanged, taken.Write);
    }

    [Fact]
    public void Terminating_is_not_written_before_the_call_and_a_confirmed_termination_is_written_once_as_ended()
    {
        var terminating = Machine.Decide(LeaseWorld.In(LeasePhase.Busy), new JobCompleted(7), LeaseWorld.Soon);
        Assert.Equal(LeaseWrite.Defer, terminating.Write);
        Assert.Equal(LeasePhase.Terminating, terminating.State.Phase);
        Assert.Equal(new TerminateVm("i-1"), terminating.Commands[^1]);

        var ended = Machine.Decide(terminating.State, new TerminationObserved(Gone: true), LeaseWorld.Soon);
        Assert.Equal(LeaseWrite.WhenChanged, ended.Write);
        Assert.Equal(LeasePhase.Terminated, ended.State.Phase);
        Assert.Equal(7, ended.State.JobId);
    }

    [Theory]
    [InlineData("termination pending")]
    [InlineData("termination failed")]
    public void A_VM_that_is_not_confirmed_gone_has_terminating_written_before_the_poll_takes_over(string outcome)
    {
        var terminating = Machine.Decide(LeaseWorld.In(LeasePhase.Idle), new TerminationOrdered("operator"), LeaseWorld.Soon);
        Assert.Equal(LeaseWrite.Defer, terminating.Write);

        var waiting = Machine.Decide(terminating.State, LeaseWorld.Events[outcome].Event, LeaseWorld.Soon);
        Assert.Equal(LeaseWrite.Flush, waiting.Write);
        Assert.Contains(new StartTerminationPoll(), waiting.Commands);
    }

    [Fact]
    public void A_lease_restarted_in_its_phase_before_an_unwritten_termination_terminates_again_on_the_same_signals()
    {
        // A busy lease whose VM was terminated before "terminated" was written: the job's redelivered completed ends it,
        // and so does the organisation's look at its Busy VMs, which finds the instance gone.
        var busy = LeaseWorld.In(LeasePhase.Busy);
        var redelivered = Machine.Decide(busy, new JobCompleted(7), LeaseWorld.Soon);
        Assert.Equal(new TerminateVm("i-1"), redelivered.Commands[^1]);
        var vanished = Machine.Decide(busy, new VmVanished("i-1", Builtiful.Providers.InstanceState.Terminated), LeaseWorld.Soon);
        Assert.IsType<RemoveRunner>(Assert.Single(vanished.Commands));
        var removed = Machine.Decide(vanished.State, new RunnerRemoved(Builtiful.Providers.RunnerRemoval.Removed, "gone", RunnerRemovalPurpose.VmVanished), LeaseWorld.Soon);
        Assert.Equal(new TerminateVm("i-1"), removed.Commands[^1]);

        // Past the maximum lifetime, the deadline check begins it from any live phase.
        foreach (var phase in new[] { LeasePhase.Launching, LeasePhase.Booting, LeasePhase.Idle, LeasePhase.Busy })
        {
            var expired = Machine.Decide(LeaseWorld.In(phase), new DeadlineChecked(LaunchPending: false), LeaseWorld.PastExpiry);
            Assert.Equal(LeasePhase.Terminating, expired.State.Phase);
            Assert.IsType<TerminateVm>(expired.Commands[^1]);
        }
    }

    [Fact]
    public void A_permanently_refused_runner_config_is_written_before_its_VM_goes()
    {
        var refused = Machine.Decide(LeaseWorld.In(LeasePhase.Booting), LeaseWorld.Events["config mint refused"].Event, LeaseWorld.Soon);
        Assert.True(refused.State.Refused);
        Assert.Equal(LeasePhase.Terminating, refused.State.Phase);
        Assert.Equal(LeaseWrite.WhenChanged, refused.Write);
    }

    [Fact]
    public void A_bound_job_is_not_written_and_a_lease_restarted_without_it_keeps_its_VM_while_GitHub_says_the_runner_is_busy()
    {
        var idle = LeaseWorld.In(LeasePhase.Idle);
        var bound = Machine.Decide(idle, new JobBound(7), LeaseWorld.Soon);
        Assert.Equal(LeaseWrite.Defer, bound.Write);
        Assert.Equal(BindOutcome.Bound, bound.Answer);
        Assert.Equal(LeasePhase.Busy, bound.State.Phase);

        // Restarted from the stored Idle past its boot deadline: the release asks GitHub to remove the runner first, and a
        // busy runner (the job running) is kept, VM and all.
        var late = idle.BootDeadline + TimeSpan.FromMinutes(1);
        var check = Machine.Decide(idle, new DeadlineChecked(LaunchPending: false), late);
        var removal = Assert.IsType<RemoveRunner>(Assert.Single(check.Commands));
        Assert.Equal(RunnerRemovalPurpose.Release, removal.Purpose);
        var kept = Machine.Decide(check.State, new RunnerRemoved(Builtiful.Providers.RunnerRemoval.Busy, removal.Reason, RunnerRemovalPurpose.Release), late);
        Assert.Equal(ReleaseOutcome.KeptBusy, kept.Answer);
        Assert.Empty(kept.Commands);
        Assert.Equal(LeasePhase.Idle, kept.State.Phase);

        // The job's completed binds it there and ends the VM; the end is written with the job.
        var completed = Machine.Decide(kept.State, new JobCompleted(7), late);
        Assert.Equal(7, completed.State.JobId);
        Assert.Equal(new TerminateVm("i-1"), completed.Commands[^1]);
        var ended = Machine.Decide(completed.State, new TerminationObserved(Gone: true), late);
        Assert.Equal(LeasePhase.Terminated, ended.State.Phase);
        Assert.Equal(7, ended.State.JobId);
        Assert.NotEqual(LeaseWrite.Defer, ended.Write);
    }

    [Fact]
    public void No_decision_defers_a_crash_safety_point()
    {
        var phases = Enum.GetValues<LeasePhase>();
        foreach (var phase in phases)
        {
            foreach (var (name, (@event, at)) in LeaseWorld.Events)
            {
                var lease = LeaseWorld.In(phase);
                var decision = Machine.Decide(lease, @event, at);
                if (decision.Write != LeaseWrite.Defer)
                {
                    continue;
                }

                var why = $"{phase} + {name}";

                // The record exists before any launch; a VM is looked for or terminated only when a restart finds it again.
                Assert.True(lease.Known, why);
                Assert.DoesNotContain(decision.Commands, c => c is LaunchVm or TakeFromPool or StartTerminationPoll or ReportEnded or MintRunnerConfig);

                // What is deferred is only the VM's id (a launch's answer), the job a claimed runner took, or the start of a
                // termination whose answer comes next.
                Assert.True(
                    decision.State.Phase == LeasePhase.Terminating
                        ? decision.Commands[^1] is TerminateVm
                        : @event is LaunchSucceeded || (@event is JobBound && lease.Phase == LeasePhase.Idle && decision.State.Phase == LeasePhase.Busy),
                    why);
                Assert.Equal(lease.ExpiresAt, decision.State.ExpiresAt);
                Assert.Equal(lease.Refused, decision.State.Refused);
            }
        }
    }
}
