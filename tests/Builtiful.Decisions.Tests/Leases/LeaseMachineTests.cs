using Builtiful.Jobs;
using Builtiful.Leases;
using Builtiful.Providers;

namespace Builtiful.Decisions.Tests.Leases;

/// <summary>The answers and details the phase table does not show.</summary>
public sealed class LeaseMachineTests
{
    private static readonly LeaseMachine Machine = LeaseWorld.Machine;

    [Fact]
    public void An_order_joins_retention_first_and_is_stored_with_its_first_attempt_once_it_has()
    {
        var ordered = Machine.Decide(new LeaseState(), new Ordered(LeaseWorld.Order, LaunchPending: false), LeaseWorld.Ordered);
        Assert.False(ordered.State.Known);
        var join = Assert.IsType<JoinRetention>(Assert.Single(ordered.Commands));
        Assert.Equal(42, join.InstallationId);

        var stored = Machine.Decide(ordered.State, new RetentionJoined(LeaseWorld.LeaseId, LeaseWorld.Order, LeaseWorld.Ordered), LeaseWorld.Ordered);
        Assert.Equal(LeasePhase.Launching, stored.State.Phase);
        Assert.Equal(1, stored.State.LaunchAttempts);
        Assert.Equal(RunnerNames.ForLease(LeaseWorld.LeaseId), stored.State.RunnerName);
        Assert.Equal(LeaseWorld.Ordered + LeaseWorld.Options.BootDeadline, stored.State.BootDeadline);
        Assert.Equal(LeaseWorld.Ordered + LeaseWorld.Options.MaxLifetime, stored.State.ExpiresAt);
        Assert.Equal(new ScheduleLaunch(TimeSpan.Zero), Assert.Single(stored.Commands));
    }

    [Fact]
    public void An_organisation_cap_shorter_than_the_cluster_lifetime_wins()
    {
        var order = LeaseWorld.Order with { MaxLifetime = TimeSpan.FromHours(1) };
        var stored = Machine.Decide(new LeaseState(), new RetentionJoined(LeaseWorld.LeaseId, order, LeaseWorld.Ordered), LeaseWorld.Ordered);
        Assert.Equal(LeaseWorld.Ordered + TimeSpan.FromHours(1), stored.State.ExpiresAt);
    }

    [Fact]
    public void Decide_never_changes_the_state_it_is_given()
    {
        var lease = LeaseWorld.In(LeasePhase.Idle);
        var before = lease with { };
        Machine.Decide(lease, new TerminationOrdered("operator"), LeaseWorld.Soon);
        Assert.Equal(before, lease);
    }

    [Fact]
    public void The_first_attempt_this_activation_stored_asks_the_pool_then_launches_without_looking_for_an_earlier_vm()
    {
        var first = Machine.Decide(LeaseWorld.Launching(), new LaunchDue(FirstAttemptUnsent: true), LeaseWorld.Soon);
        Assert.Equal(new TakeFromPool(1), Assert.Single(first.Commands));
        var missed = Machine.Decide(first.State, new PoolMissed(), LeaseWorld.Soon);
        Assert.Equal(new LaunchVm(1, LookForEarlier: false), Assert.Single(missed.Commands));

        var resumed = Machine.Decide(LeaseWorld.Launching(), new LaunchDue(FirstAttemptUnsent: false), LeaseWorld.Soon);
        Assert.Equal(new LaunchVm(1, LookForEarlier: true), Assert.Single(resumed.Commands));
    }

    [Fact]
    public void A_failed_attempt_is_retried_after_a_jittered_backoff_with_a_new_attempt_number_and_the_job_hears_why()
    {
        var lease = LeaseWorld.Launching();
        var failed = Machine.Decide(lease, new LaunchFailed(1, "InsufficientInstanceCapacity for m7i.large", Permanent: false), LeaseWorld.Soon);
        var delay = Machine.RetryDelay(lease.RunnerName, 1);
        Assert.Equal(2, failed.Commands.Count);
        Assert.Equal(new ScheduleLaunch(delay), failed.Commands[0]);
        var waiting = Assert.IsType<ReportWaiting>(failed.Commands[1]);
        Assert.Equal(7, waiting.JobId);
        Assert.Contains("InsufficientInstanceCapacity", waiting.Reason, StringComparison.Ordinal);
        Assert.Contains("next attempt at", waiting.Reason, StringComparison.Ordinal);
        Assert.Equal(LeaseWorld.Soon + delay, failed.State.NextLaunchAt);

        var next = Machine.Decide(failed.State, new LaunchDue(FirstAttemptUnsent: false), LeaseWorld.Soon + delay);
        Assert.Equal(new LaunchVm(2, LookForEarlier: true), Assert.Single(next.Commands));
        Assert.Null(next.State.NextLaunchAt);
    }

    [Theory]
    [InlineData(3)]
    [InlineData(30)]
    [InlineData(300)]
    public void Transient_failures_never_fail_the_lease_before_its_give_up_instant_however_many_attempts(int attempt)
    {
        var lease = LeaseWorld.Launching() with { LaunchAttempts = attempt };
        var at = LeaseWorld.Ordered + TimeSpan.FromHours(20);
        var failed = Machine.Decide(lease, new LaunchFailed(attempt, "RequestLimitExceeded", Permanent: false), at);
        Assert.IsType<ScheduleLaunch>(failed.Commands[0]);
        Assert.Equal(LeasePhase.Launching, failed.State.Phase);
        Assert.Null(failed.State.EndReason);
    }

    [Fact]
    public void A_transient_failure_whose_retry_would_fall_past_the_give_up_instant_fails_the_lease()
    {
        var lease = LeaseWorld.Launching();
        var last = Machine.Decide(lease, new LaunchFailed(9, "InsufficientInstanceCapacity", Permanent: false), lease.GiveUpAt);
        Assert.Equal(new CleanUpLaunches(), Assert.Single(last.Commands));
        Assert.Contains("when GitHub stops keeping the job queued", last.State.EndReason, StringComparison.Ordinal);
        Assert.False(last.State.Refused);
    }

    [Fact]
    public void A_deadline_check_past_the_give_up_instant_fails_a_lease_still_launching()
    {
        var lease = LeaseWorld.Launching();
        var check = Machine.Decide(lease, new DeadlineChecked(LaunchPending: false), lease.GiveUpAt);
        Assert.Equal(new CleanUpLaunches(), Assert.Single(check.Commands));
        Assert.Contains("when GitHub stops keeping the job queued", check.State.EndReason, StringComparison.Ordinal);
    }

    [Fact]
    public void A_permanent_refusal_fails_the_lease_at_once_with_the_providers_reason()
    {
        var failed = Machine.Decide(LeaseWorld.Launching(), new LaunchFailed(1, "InvalidAMIID.NotFound: The image id does not exist", Permanent: true), LeaseWorld.Soon);
        Assert.Equal(new CleanUpLaunches(), Assert.Single(failed.Commands));
        Assert.True(failed.State.Refused);
        Assert.Contains("InvalidAMIID.NotFound", failed.State.EndReason, StringComparison.Ordinal);
    }

    [Fact]
    public void The_lease_gives_up_when_its_order_says_and_otherwise_after_the_configured_time()
    {
        Assert.Equal(LeaseWorld.Ordered + LeaseWorld.Options.LaunchGiveUpAfter, LeaseWorld.Launching().GiveUpAt);
        var giveUp = LeaseWorld.Ordered + TimeSpan.FromHours(3);
        var stored = Machine.Decide(new LeaseState(), new RetentionJoined(LeaseWorld.LeaseId, LeaseWorld.Order with { GiveUpAt = giveUp }, LeaseWorld.Ordered), LeaseWorld.Ordered);
        Assert.Equal(giveUp, stored.State.GiveUpAt);
    }

    [Fact]
    public void A_new_activation_resumes_a_pending_retry_when_it_was_due_not_at_once()
    {
        var failed = Machine.Decide(LeaseWorld.Launching(), new LaunchFailed(4, "InsufficientInstanceCapacity", Permanent: false), LeaseWorld.Soon).State;
        var due = failed.NextLaunchAt!.Value;
        var resumed = Machine.Decide(failed, new Activated(), LeaseWorld.Soon);
        Assert.Equal(new ScheduleLaunch(due - LeaseWorld.Soon), Assert.Single(resumed.Commands));
        var checkedLater = Machine.Decide(failed, new DeadlineChecked(LaunchPending: false), due + TimeSpan.FromSeconds(1));
        Assert.Contains(new ScheduleLaunch(TimeSpan.Zero), checkedLater.Commands);
    }

    [Fact]
    public void A_launch_after_a_long_wait_gets_its_whole_boot_deadline_and_lifetime_from_that_attempt()
    {
        var failed = Machine.Decide(LeaseWorld.Launching(), new LaunchFailed(1, "InsufficientInstanceCapacity", Permanent: false), LeaseWorld.Soon).State;
        var late = LeaseWorld.Ordered + TimeSpan.FromHours(2);
        var next = Machine.Decide(failed, new LaunchDue(FirstAttemptUnsent: false), late).State;
        Assert.Equal(late + LeaseWorld.Options.BootDeadline, next.BootDeadline);
        Assert.Equal(late + LeaseWorld.Options.MaxLifetime, next.ExpiresAt);

        // Still launching past the original boot deadline is no reason to release it.
        var check = Machine.Decide(failed, new DeadlineChecked(LaunchPending: true), LeaseWorld.PastBootDeadline);
        Assert.DoesNotContain(check.Commands, c => c is TerminateVm or RemoveRunner);
    }

    [Fact]
    public void The_retry_delay_is_full_jitter_under_a_doubling_ceiling_capped_at_the_maximum_and_the_same_on_every_silo()
    {
        var options = LeaseWorld.Options;
        for (var attempt = 1; attempt <= 40; attempt++)
        {
            var ceiling = TimeSpan.FromTicks((long)Math.Min(options.LaunchRetryMaxDelay.Ticks, options.LaunchRetryDelay.Ticks * Math.Pow(2, Math.Min(attempt - 1, 30))));
            var delay = Machine.RetryDelay("builtiful-abc", attempt);
            Assert.InRange(delay, TimeSpan.Zero, ceiling);
            Assert.Equal(delay, new LeaseMachine(options).RetryDelay("builtiful-abc", attempt));
        }
    }

    [Fact]
    public void A_refused_launch_fails_the_lease_as_refused()
    {
        var refused = Machine.Decide(LeaseWorld.Launching(), new LaunchFailed(1, "no image", Permanent: true), LeaseWorld.Soon);
        Assert.True(refused.State.Refused);
        var failed = Machine.Decide(refused.State, new CleanupDone(), LeaseWorld.Soon);
        Assert.Equal(LeasePhase.Failed, failed.State.Phase);
        Assert.Contains("refused", failed.State.EndReason, StringComparison.Ordinal);
        Assert.Contains(new ReportEnded(42, Awaited: true), failed.Commands);
    }

    [Theory]
    [InlineData(LeasePhase.Launching, 8, BindOutcome.Bound)]
    [InlineData(LeasePhase.Idle, 8, BindOutcome.Bound)]
    [InlineData(LeasePhase.Busy, 7, BindOutcome.AlreadyBound)]
    [InlineData(LeasePhase.Busy, 8, BindOutcome.Refused)]
    [InlineData(LeasePhase.Terminating, 8, BindOutcome.RanAfterEnd)]
    [InlineData(LeasePhase.Terminated, 8, BindOutcome.RanAfterEnd)]
    [InlineData(LeasePhase.Failed, 8, BindOutcome.Refused)]
    public void Binding_answers_by_phase(LeasePhase phase, long jobId, BindOutcome expected)
    {
        Assert.Equal(expected, Machine.Decide(LeaseWorld.In(phase), new JobBound(jobId), LeaseWorld.Soon).Answer);
    }

    [Fact]
    public void An_unknown_lease_answers_without_acting()
    {
        var unknown = new LeaseState();
        Assert.Equal(BindOutcome.Unknown, Machine.Decide(unknown, new JobBound(1), LeaseWorld.Soon).Answer);
        Assert.Equal(ReleaseOutcome.AlreadyOver, Machine.Decide(unknown, new Released("x"), LeaseWorld.Soon).Answer);
        Assert.Equal(RetentionOutcome.Absent, Machine.Decide(unknown, new Forgotten(), LeaseWorld.Soon).Answer);
        var check = Machine.Decide(unknown, new DeadlineChecked(false), LeaseWorld.Soon);
        Assert.Equal(LeaseCheck.Unknown, check.Answer);
        Assert.Equal(new Deactivate(), Assert.Single(check.Commands));
        Assert.Empty(Machine.Decide(unknown, new TerminationOrdered("x"), LeaseWorld.Soon).Commands);
    }

    [Fact]
    public void A_release_answers_after_github_does()
    {
        var idle = LeaseWorld.In(LeasePhase.Idle);
        Assert.Null(Machine.Decide(idle, new Released("cancelled"), LeaseWorld.Soon).Answer);
        Assert.Equal(ReleaseOutcome.KeptBusy, Machine.Decide(idle, LeaseWorld.Events["runner busy"].Event, LeaseWorld.Soon).Answer);
        Assert.Equal(ReleaseOutcome.Terminating, Machine.Decide(idle, LeaseWorld.Events["runner removed"].Event, LeaseWorld.Soon).Answer);
        Assert.Equal(ReleaseOutcome.KeptBusy, Machine.Decide(LeaseWorld.In(LeasePhase.Busy), new Released("cancelled"), LeaseWorld.Soon).Answer);
        Assert.Equal(ReleaseOutcome.AlreadyOver, Machine.Decide(LeaseWorld.In(LeasePhase.Terminating), new Released("cancelled"), LeaseWorld.Soon).Answer);
    }

    [Fact]
    public void A_release_github_cannot_confirm_waits_for_the_next_tick_until_the_grace_after_the_boot_deadline()
    {
        var failure = new RunnerRemovalFailed("503", Permanent: false, "cancelled", RunnerRemovalPurpose.Release);
        var deferred = Machine.Decide(LeaseWorld.In(LeasePhase.Idle), failure, LeaseWorld.Soon);
        Assert.Equal(LeasePhase.Idle, deferred.State.Phase);
        Assert.Equal("cancelled", deferred.State.PendingRelease);

        var retried = Machine.Decide(deferred.State, new DeadlineChecked(false), LeaseWorld.Soon);
        Assert.Equal(new RemoveRunner("cancelled", RunnerRemovalPurpose.Release), Assert.Single(retried.Commands));

        var late = Machine.Decide(deferred.State, failure, LeaseWorld.PastGrace);
        Assert.Equal(LeasePhase.Terminating, late.State.Phase);
        Assert.Null(late.State.PendingRelease);

        var refused = Machine.Decide(LeaseWorld.In(LeasePhase.Idle), failure with { Permanent = true }, LeaseWorld.Soon);
        Assert.Equal(LeasePhase.Terminating, refused.State.Phase);
    }

    [Fact]
    public void A_vanished_vm_ends_its_lease_whatever_github_says_about_the_runner()
    {
        var removal = Assert.IsType<RemoveRunner>(Assert.Single(Machine.Decide(LeaseWorld.In(LeasePhase.Busy), new VmVanished("i-1", InstanceState.Terminated), LeaseWorld.Soon).Commands));
        Assert.Equal(RunnerRemovalPurpose.VmVanished, removal.Purpose);
        Assert.Contains("while the lease was busy", removal.Reason, StringComparison.Ordinal);

        var failed = Machine.Decide(LeaseWorld.In(LeasePhase.Busy), new RunnerRemovalFailed("503", false, removal.Reason, removal.Purpose), LeaseWorld.Soon);
        Assert.Equal(LeasePhase.Terminating, failed.State.Phase);
        var busy = Machine.Decide(LeaseWorld.In(LeasePhase.Busy), new RunnerRemoved(RunnerRemoval.Busy, removal.Reason, removal.Purpose), LeaseWorld.Soon);
        Assert.Equal(LeasePhase.Terminating, busy.State.Phase);

        Assert.Empty(Machine.Decide(LeaseWorld.In(LeasePhase.Busy), new VmVanished("i-other", InstanceState.Terminated), LeaseWorld.Soon).Commands);
    }

    [Fact]
    public void A_completed_job_binds_an_unbound_lease_and_another_jobs_completion_is_ignored()
    {
        var completed = Machine.Decide(LeaseWorld.In(LeasePhase.Idle), new JobCompleted(9), LeaseWorld.Soon);
        Assert.Equal(9, completed.State.JobId);
        Assert.Equal(LeasePhase.Terminating, completed.State.Phase);

        var other = Machine.Decide(LeaseWorld.In(LeasePhase.Busy), new JobCompleted(9), LeaseWorld.Soon);
        Assert.Equal(LeasePhase.Busy, other.State.Phase);
        Assert.Empty(other.Commands);
    }

    [Fact]
    public void An_ended_lease_forgets_what_tied_it_to_a_job_once()
    {
        var forgotten = Machine.Decide(LeaseWorld.In(LeasePhase.Terminated), new Forgotten(), LeaseWorld.Soon);
        Assert.Equal(RetentionOutcome.Deleted, forgotten.Answer);
        Assert.Null(forgotten.State.Repository);
        Assert.Empty(forgotten.State.Labels);
        Assert.Equal(RetentionOutcome.Absent, Machine.Decide(forgotten.State, new Forgotten(), LeaseWorld.Soon).Answer);
        Assert.Equal(RetentionOutcome.Kept, Machine.Decide(LeaseWorld.In(LeasePhase.Busy), new Forgotten(), LeaseWorld.Soon).Answer);
    }
}
