using Builtiful.Leases;
using Builtiful.Providers;
using CsCheck;

namespace Builtiful.Decisions.Tests.Leases;

/// <summary>The lease's invariants over random sequences of events, at random later times.</summary>
public sealed class LeaseMachinePropertyTests
{
    private static readonly LeaseMachine Machine = LeaseWorld.Machine;

    /// <summary>Any event the world may send, with parameters drawn from a small range so that they sometimes match the lease.</summary>
    private static LeaseEvent EventOf(int kind, int detail) => kind switch
    {
        0 => new Ordered(LeaseWorld.Order, detail % 2 == 0),
        1 => new Activated(),
        2 => new LaunchDue(detail % 2 == 0),
        3 => new LaunchSucceeded(1 + (detail % 3), $"i-{detail % 3}", null, detail % 2 == 0),
        4 => new LaunchFailed(1 + (detail % 3), "error", detail % 4 == 0),
        5 => new DeadlineChecked(detail % 2 == 0),
        6 => new VmObserved((InstanceState)(detail % 6)),
        7 => new DescribeFailed("error"),
        8 => new JobBound(1 + (detail % 3)),
        9 => new JobCompleted(1 + (detail % 3)),
        10 => new Released("released"),
        11 => new RunnerRemoved((RunnerRemoval)(detail % 3), "reason", (RunnerRemovalPurpose)(detail % 2)),
        12 => new RunnerRemovalFailed("error", detail % 3 == 0, "reason", (RunnerRemovalPurpose)(detail % 2)),
        13 => new VmVanished($"i-{detail % 3}", InstanceState.Terminated),
        14 => new TerminationOrdered("operator"),
        15 => new TerminationPollDue(),
        16 => new TerminationObserved(detail % 2 == 0),
        17 => new TerminationFailed("error"),
        18 => new CleanupDone(),
        19 => new CleanupFailed("error"),
        20 => new ClaimRequested($"i-{detail % 3}", TokenMatches: detail % 4 != 0, LaunchPending: detail % 2 == 0),
        21 => new RunnerConfigMinted(),
        22 => new RunnerConfigMintFailed("error", Permanent: detail % 2 == 0),
        _ => new Forgotten(),
    };

    /// <summary>Events with the minutes that pass before each; a lease's deadlines lie within the range.</summary>
    private static readonly Gen<(int Kind, int Detail, int Minutes)[]> Sequences =
        Gen.Select(Gen.Int[0, 23], Gen.Int[0, 11], Gen.Int[0, 40]).Array[1, 60];

    private static IEnumerable<(LeaseEvent Event, DateTimeOffset At, LeaseState Before, LeaseDecision Decision)> Replay((int Kind, int Detail, int Minutes)[] sequence)
    {
        var lease = LeaseWorld.Launching();
        var now = LeaseWorld.Ordered;
        foreach (var (kind, detail, minutes) in sequence)
        {
            now += TimeSpan.FromMinutes(minutes);
            var @event = EventOf(kind, detail);
            var decision = Machine.Decide(lease, @event, now);
            yield return (@event, now, lease, decision);
            lease = decision.State;
        }
    }

    [Fact]
    public void A_launching_lease_fails_on_a_transient_error_only_at_its_give_up_instant_and_on_a_permanent_one_always()
    {
        Gen.Select(Gen.Int[1, 500], Gen.Int[0, 26 * 60], Gen.Bool).Sample((attempt, minutes, permanent) =>
        {
            var lease = LeaseWorld.Launching() with { LaunchAttempts = attempt };
            var now = LeaseWorld.Ordered + TimeSpan.FromMinutes(minutes);
            var decision = Machine.Decide(lease, new LaunchFailed(attempt, "InsufficientInstanceCapacity", permanent), now);
            var delay = Machine.RetryDelay(lease.RunnerName, attempt);
            var fails = decision.Commands.Contains(new CleanUpLaunches());
            var retries = decision.Commands.Contains(new ScheduleLaunch(delay));
            var ok = permanent
                ? fails && decision.State.Refused && !retries
                : now + delay >= lease.GiveUpAt ? fails && !decision.State.Refused : retries && !fails && decision.State.NextLaunchAt == now + delay;
            return ok && delay >= TimeSpan.Zero && delay <= LeaseWorld.Options.LaunchRetryMaxDelay;
        });
    }

    [Fact]
    public void Phases_only_move_forward_and_never_out_of_a_final_phase()
    {
        Sequences.Sample(sequence =>
        {
            foreach (var (@event, _, before, decision) in Replay(sequence))
            {
                Assert.True(decision.State.Phase >= before.Phase, $"{before.Phase} went back to {decision.State.Phase} on {@event}");
                Assert.True(!before.Phase.IsFinal() || decision.State.Phase == before.Phase, $"{before.Phase} left on {@event}");
            }
        });
    }

    [Fact]
    public void The_slot_is_freed_only_once_the_vm_is_confirmed_gone_or_was_never_made()
    {
        Sequences.Sample(sequence =>
        {
            var confirmed = false;
            foreach (var (@event, _, before, decision) in Replay(sequence))
            {
                // The provider's word that every VM is gone, or a failed launch's cleanup of a lease that never held a VM.
                confirmed |= (@event is TerminationObserved { Gone: true } && before.Phase == LeasePhase.Terminating)
                    || (@event is CleanupDone && before.Phase == LeasePhase.Launching && before.InstanceId is null);
                if (decision.Commands.OfType<ReportEnded>().Any())
                {
                    Assert.True(confirmed, $"the slot was freed on {@event} in {before.Phase} before the VM was confirmed gone");
                    Assert.True(decision.State.Phase.IsFinal(), $"the slot was freed while the lease is {decision.State.Phase}");
                }
            }
        });
    }

    [Fact]
    public void At_most_one_job_is_ever_bound_to_a_lease()
    {
        Sequences.Sample(sequence =>
        {
            long? bound = null;
            foreach (var (@event, _, _, decision) in Replay(sequence))
            {
                if (@event is Forgotten)
                {
                    // Retention, days after the lease ended, forgets its job: the record starts over.
                    bound = decision.State.JobId;
                }
                else if (decision.State.JobId is { } jobId)
                {
                    Assert.True(bound is null || bound == jobId, $"job {jobId} bound on {@event} to a lease bound to job {bound}");
                    bound = jobId;
                }

                Assert.True(decision.State.Phase != LeasePhase.Busy || decision.State.JobId is not null, "busy without a job");
            }
        });
    }

    [Fact]
    public void A_lease_that_reaches_its_deadline_ends_with_its_vm_terminated_in_a_world_that_answers()
    {
        Sequences.Sample(sequence =>
        {
            var lease = Replay(sequence).Last().Decision.State;
            var endedBefore = lease.Phase.IsFinal();
            var now = lease.ExpiresAt + TimeSpan.FromMinutes(1);
            var terminated = new HashSet<string>(StringComparer.Ordinal);
            var events = new Queue<LeaseEvent>([new DeadlineChecked(LaunchPending: false)]);
            for (var step = 0; step < 20 && events.TryDequeue(out var @event); step++)
            {
                var decision = Machine.Decide(lease, @event, now);
                lease = decision.State;
                foreach (var command in decision.Commands)
                {
                    if (command is TerminateVm { InstanceId: { } instanceId })
                    {
                        terminated.Add(instanceId);
                    }

                    if (Answer(command) is { } answer)
                    {
                        events.Enqueue(answer);
                    }
                }
            }

            Assert.True(lease.Phase.IsFinal(), $"the lease is still {lease.Phase} after its deadline");
            if (lease.InstanceId is { } held)
            {
                // A lease whose claimed config GitHub refused for good ends failed, its VM terminated all the same.
                Assert.Equal(lease.Refused ? LeasePhase.Failed : LeasePhase.Terminated, lease.Phase);
                Assert.True(lease.TerminatedAt is not null, "terminated without a time");
                Assert.True(endedBefore || terminated.Contains(held), $"the VM {held} was never asked to go after the deadline");
            }
        });
    }

    [Fact]
    public void A_runner_config_is_minted_only_for_a_first_matching_claim_from_the_leases_own_instance_and_granted_once()
    {
        Sequences.Sample(sequence =>
        {
            var granted = 0;
            foreach (var (@event, _, before, decision) in Replay(sequence))
            {
                if (decision.Commands.OfType<MintRunnerConfig>().Any())
                {
                    var claim = Assert.IsType<ClaimRequested>(@event);
                    Assert.True(claim.TokenMatches, "minted for a wrong token");
                    Assert.Equal(before.InstanceId, claim.InstanceId);
                    Assert.Null(before.ClaimedAt);
                    Assert.True(before.Phase < LeasePhase.Terminating, $"minted in {before.Phase}");
                }

                if (decision.Answer is ClaimOutcome.Granted)
                {
                    granted++;
                }

                if (@event is ClaimRequested { TokenMatches: false })
                {
                    Assert.Equal(before, decision.State);
                    Assert.Empty(decision.Commands);
                }
            }

            Assert.True(granted <= 1, $"granted {granted} times");
        });
    }

    /// <summary>A world in which every call succeeds and every VM goes when asked.</summary>
    private static LeaseEvent? Answer(LeaseCommand command) => command switch
    {
        TerminateVm => new TerminationObserved(Gone: true),
        RemoveRunner removal => new RunnerRemoved(RunnerRemoval.Removed, removal.Reason, removal.Purpose),
        CleanUpLaunches => new CleanupDone(),
        _ => null,
    };
}
