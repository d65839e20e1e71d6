using Builtiful.Providers;
using Builtiful.Retries;

namespace Builtiful.Leases;

/// <summary>
/// The new state (a copy; the input is never changed), the I/O to run in order, the answer owed to the caller, if any,
/// and when the new state must reach storage.
/// </summary>
public sealed record LeaseDecision(LeaseState State, IReadOnlyList<LeaseCommand> Commands, Enum? Answer = null, LeaseWrite Write = LeaseWrite.WhenChanged);

/// <summary>
/// When the grain writes a decided state. Every write stores the whole state, so a deferred change reaches storage with
/// the next write. A change is deferred only when a lease restarted from the older stored state finds the same facts again
/// (docs/performance.md, "Fewer writes in a lease's own life").
/// </summary>
public enum LeaseWrite
{
    /// <summary>Written before the decision's commands run, when the state changed.</summary>
    WhenChanged = 0,

    /// <summary>Kept in memory only; the next write carries it.</summary>
    Defer = 1,

    /// <summary>Written when the state changed or an earlier decision's change is still unwritten.</summary>
    Flush = 2,
}

/// <summary>
/// A lease's lifecycle without I/O: what each event does to the lease's state and which commands follow. Phases only move
/// forward; the organisation's slot is freed only once the VM is confirmed gone or never made.
/// </summary>
public sealed class LeaseMachine(LeaseOptions options)
{
    private readonly Backoff _backoff = new(options.LaunchRetryDelay, Max(options.LaunchRetryDelay, options.LaunchRetryMaxDelay));

    /// <summary>How long past its boot deadline a VM waits for GitHub to confirm its runner is deregistered.</summary>
    public static readonly TimeSpan ReleaseGrace = TimeSpan.FromMinutes(5);

    /// <summary>
    /// The pause before the attempt after <paramref name="failedAttempt"/>: <see cref="Backoff"/> with full jitter, drawn
    /// from a seed of the lease and the attempt, so the decision stays a pure function and leases refused together spread out.
    /// </summary>
    public TimeSpan RetryDelay(string runnerName, int failedAttempt)
    {
        ArgumentNullException.ThrowIfNull(runnerName);

        // FNV-1a: string.GetHashCode differs between processes, and a retry must wait the same on any silo.
        var seed = unchecked((int)2166136261) ^ failedAttempt;
        foreach (var c in runnerName)
        {
            seed = unchecked((seed ^ c) * 16777619);
        }

        return _backoff.Delay(Math.Max(1, failedAttempt), TimeSpan.Zero, new Random(seed));
    }

    private static TimeSpan Max(TimeSpan a, TimeSpan b) => a > b ? a : b;

    public LeaseDecision Decide(LeaseState state, LeaseEvent @event, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(state);
        var step = new Step(Copy(state), now);
        if (@event is RetentionJoined joined)
        {
            Store(step, joined);
        }
        else if (!state.Known)
        {
            Unknown(step, @event);
        }
        else if (state.Phase.IsFinal())
        {
            Final(step, @event);
        }
        else
        {
            Live(step, @event);
        }

        return new LeaseDecision(step.Lease, step.Commands, step.Answer, step.Write);
    }

    // Shallow: Labels is only ever replaced, never changed in place, so an unchanged copy equals its original.
    private static LeaseState Copy(LeaseState state) => state with { };

    private static void Unknown(Step step, LeaseEvent @event)
    {
        switch (@event)
        {
            case Ordered ordered:
                step.Commands.Add(new JoinRetention(ordered.Order.InstallationId, step.Now, ordered.Order));
                break;
            case JobBound:
                step.Answer = BindOutcome.Unknown;
                break;
            case Released:
                step.Answer = ReleaseOutcome.AlreadyOver;
                break;
            case DeadlineChecked:
                step.Answer = LeaseCheck.Unknown;
                step.Commands.Add(new Deactivate());
                break;
            case Forgotten:
                step.Answer = Jobs.RetentionOutcome.Absent;
                break;
            case ClaimRequested claim:
                // A valid token names a lease that was ordered: its order may be unstored and lost with a silo, and the
                // organisation orders it again within a check period, so the VM asks again rather than giving up.
                step.Answer = claim.TokenMatches ? ClaimOutcome.NotYet : ClaimOutcome.UnknownLease;
                break;
        }
    }

    private void Store(Step step, RetentionJoined joined)
    {
        var lease = step.Lease;
        if (lease.Known)
        {
            return;
        }

        var order = joined.Order;
        var lifetime = order.MaxLifetime is { } cap && cap < options.MaxLifetime ? cap : options.MaxLifetime;
        lease.Known = true;

        // The order is the first launch attempt, and it is not written on its own: the organisation stored the slot before
        // it ordered the lease, and orders it again (a repair) when its check finds the lease unknown. A repaired order
        // looks for its VM by the lease tag before it launches, and the VM's claims wait for it meanwhile (NotYet). The
        // order reaches storage with the lease's next write: a failed attempt, a pool take, the claim or the job it takes.
        step.Write = LeaseWrite.Defer;
        lease.Phase = LeasePhase.Launching;
        lease.LaunchAttempts = 1;
        lease.InstallationId = order.InstallationId;
        lease.LaunchedForJobId = order.ForJobId;
        lease.MachineType = order.MachineType;
        lease.Labels = [.. order.Labels];
        lease.RunnerName = RunnerNames.ForLease(joined.LeaseId);
        lease.AccountLogin = order.AccountLogin;
        lease.AccountType = order.AccountType;
        lease.Repository = order.Repository;
        lease.RunnerGroupId = order.RunnerGroupId;
        var at = order.OrderedAt is { } orderedAt && orderedAt < joined.At ? orderedAt : joined.At;
        lease.RequestedAt = at;
        lease.BootDeadline = at + options.BootDeadline;
        lease.ExpiresAt = at + lifetime;
        lease.GiveUpAt = order.GiveUpAt ?? at + options.LaunchGiveUpAfter;
        if (step.Now >= lease.ExpiresAt)
        {
            // A repair that comes after the first order's lifetime: any VM that order made goes, and the lease with it.
            Fail(step, $"maximum lifetime reached at {lease.ExpiresAt:O} before the order was stored");
            return;
        }

        step.Commands.Add(new ScheduleLaunch(TimeSpan.Zero));
    }

    private static void Final(Step step, LeaseEvent @event)
    {
        switch (@event)
        {
            case JobBound bound:
                Bind(step, bound.JobId);
                break;
            case Released:
                step.Answer = ReleaseOutcome.AlreadyOver;
                break;
            case DeadlineChecked:
                // Its "lease ended" may have been lost with a silo: the organisation hears it again, and forgets the slot.
                step.Answer = LeaseCheck.Ended;
                step.Commands.Add(new ReportEnded(step.Lease.InstallationId, Awaited: false));
                step.Commands.Add(new Deactivate());
                break;
            case Forgotten:
                Forget(step);
                break;
            case ClaimRequested claim:
                step.Answer = claim.TokenMatches ? ClaimOutcome.LeaseOver : ClaimOutcome.WrongToken;
                break;
        }
    }

    private void Live(Step step, LeaseEvent @event)
    {
        var lease = step.Lease;
        switch (@event)
        {
            case Ordered { LaunchPending: false } when lease.Phase == LeasePhase.Launching:
            case Activated when lease.Phase == LeasePhase.Launching:
                step.Commands.Add(new ScheduleLaunch(lease.NextLaunchAt is { } next && next > step.Now ? next - step.Now : TimeSpan.Zero));
                break;
            case LaunchDue due when lease.Phase == LeasePhase.Launching:
                StartAttempt(step, due.FirstAttemptUnsent, options.BootDeadline);
                break;
            case LaunchSucceeded launched when lease.Phase == LeasePhase.Launching:
                // Not written on its own: a lease restarted from "launching" launches the same attempt again, which first
                // finds this VM by its lease tag and otherwise gets it back from the provider by the attempt's ClientToken.
                step.Write = LeaseWrite.Defer;
                lease.InstanceId = launched.InstanceId;
                lease.LaunchedAt = launched.Adopted ? lease.LaunchedAt ?? step.Now : launched.LaunchedAt;
                lease.Phase = LeasePhase.Booting;
                lease.LastError = null;
                if (launched.Adopted || launched.Attempt > 1)
                {
                    step.Commands.Add(new TerminateStrays(launched.InstanceId));
                }

                break;
            case PoolTaken taken when lease.Phase == LeasePhase.Launching && lease.InstanceId is null:
                lease.InstanceId = taken.Vm.InstanceId;
                lease.LaunchedAt = taken.Vm.LaunchedAt;
                lease.PoolVmId = taken.Vm.VmId;
                lease.Pool = taken.Pool;
                lease.Phase = LeasePhase.Booting;
                lease.LastError = null;
                break;
            case PoolMissed when lease.Phase == LeasePhase.Launching && lease.InstanceId is null:
                step.Commands.Add(new LaunchVm(lease.LaunchAttempts, LookForEarlier: false));
                break;
            case LaunchFailed failed when lease.Phase == LeasePhase.Launching:
                AttemptFailed(step, failed);
                break;
            case DeadlineChecked check:
                CheckDeadlines(step, check.LaunchPending);
                break;
            case VmObserved { Observed: InstanceState.Running } when lease.Phase == LeasePhase.Booting:
                lease.Phase = LeasePhase.Idle;
                break;
            case VmObserved { Observed: InstanceState.ShuttingDown or InstanceState.Terminated or InstanceState.NotFound } observed
                when lease.Phase < LeasePhase.Terminating:
                BeginTermination(step, $"the VM went away by itself ({observed.Observed})");
                break;
            case DescribeFailed failed:
                lease.LastError = $"describe failed: {failed.Error}";
                break;
            case JobBound bound:
                Bind(step, bound.JobId);
                break;
            case JobCompleted completed when lease.Phase < LeasePhase.Terminating && (lease.JobId ?? completed.JobId) == completed.JobId:
                // completed without in_progress: the job still ran here, so it is bound before the VM goes.
                lease.JobId = completed.JobId;
                BeginTermination(step, $"job {completed.JobId} completed");
                break;
            case Released released:
                Release(step, released.Reason);
                break;
            case RunnerRemoved removed when lease.Phase < LeasePhase.Terminating:
                RunnerGone(step, removed);
                break;
            case RunnerRemovalFailed failed when lease.Phase < LeasePhase.Terminating:
                RunnerStays(step, failed);
                break;
            case VmVanished vanished when lease.Phase is LeasePhase.Idle or LeasePhase.Busy && lease.InstanceId == vanished.InstanceId:
                // No job can run on this runner any more: GitHub must not hand it one (a busy one cannot be deleted; it goes with its job).
                step.Commands.Add(new RemoveRunner(
                    $"the VM disappeared: instance {vanished.InstanceId} is {vanished.Observed.ToString().ToLowerInvariant()} at the provider while the lease was {lease.Phase.ToWire()}",
                    RunnerRemovalPurpose.VmVanished));
                break;
            case TerminationOrdered ordered when lease.Phase < LeasePhase.Terminating:
                BeginTermination(step, ordered.Reason);
                break;
            case TerminationPollDue when lease.Phase == LeasePhase.Terminating:
                ConfirmTermination(step);
                break;
            case TerminationObserved { Gone: true } when lease.Phase == LeasePhase.Terminating:
                End(step, lease.Refused ? LeasePhase.Failed : LeasePhase.Terminated);
                break;
            case TerminationObserved when lease.Phase == LeasePhase.Terminating:
                // The VM is slow to go: "terminating" is stored now, so the poll and the deadline checks go on after a restart.
                step.Write = LeaseWrite.Flush;
                lease.LastError = null;
                step.Commands.Add(new StartTerminationPoll());
                break;
            case TerminationFailed failed when lease.Phase == LeasePhase.Terminating:
                step.Write = LeaseWrite.Flush;
                lease.LastError = $"termination attempt {lease.TerminationAttempts} failed: {failed.Error}";
                step.Commands.Add(new StartTerminationPoll());
                break;
            case CleanupDone when lease.Phase == LeasePhase.Launching:
                End(step, LeasePhase.Failed);
                break;
            case CleanupFailed failed when lease.Phase == LeasePhase.Launching:
                // The lease stays Launching-with-failure and the next deadline check retries the cleanup.
                lease.LastError = $"{lease.EndReason}; cleanup of tagged instances failed: {failed.Error}";
                break;
            case Forgotten:
                step.Answer = Jobs.RetentionOutcome.Kept;
                break;
            case ClaimRequested claim:
                Claim(step, claim);
                break;
            case RunnerConfigMinted when lease.Phase < LeasePhase.Terminating && lease.ClaimedAt is null:
                lease.ClaimedAt = step.Now;
                lease.Phase = lease.Phase == LeasePhase.Booting ? LeasePhase.Idle : lease.Phase;
                step.Answer = ClaimOutcome.Granted;
                break;
            case RunnerConfigMintFailed { Permanent: true } refused when lease.Phase < LeasePhase.Terminating:
                // As a refused launch: no claim can succeed, so the VM goes and the job gets no other lease (no retry storm).
                lease.Refused = true;
                lease.LastError = $"GitHub refused the claimed runner config: {refused.Error}";
                step.Answer = ClaimOutcome.LeaseOver;
                BeginTermination(step, $"GitHub refused this lease's runner config and retrying cannot help: {refused.Error}");

                // Stored before the VM goes: a lease restarted without "refused" would end as terminated and its job would get another.
                step.Write = LeaseWrite.WhenChanged;
                break;
            case RunnerConfigMintFailed failed when lease.Phase < LeasePhase.Terminating:
                lease.LastError = $"could not mint the claimed runner config: {failed.Error}";
                step.Answer = ClaimOutcome.NotYet;
                break;
        }
    }

    /// <summary>
    /// A VM's claim. A wrong token changes nothing (anyone who knows a lease id could send one); the right token from
    /// another instance, or a second claim, means the token leaked: the VM goes. The config is minted only on a first,
    /// matching claim from the lease's own instance.
    /// </summary>
    private static void Claim(Step step, ClaimRequested claim)
    {
        var lease = step.Lease;
        if (!claim.TokenMatches)
        {
            step.Answer = ClaimOutcome.WrongToken;
        }
        else if (lease.Phase >= LeasePhase.Terminating)
        {
            step.Answer = ClaimOutcome.LeaseOver;
        }
        else if (lease.InstanceId is null)
        {
            // The launch answer is late or lost: the resumed launch adopts the tagged VM, and the VM asks again.
            step.Answer = ClaimOutcome.NotYet;
            if (!claim.LaunchPending)
            {
                step.Commands.Add(new ScheduleLaunch(TimeSpan.Zero));
            }
        }
        else if (!string.Equals(lease.InstanceId, claim.InstanceId, StringComparison.Ordinal))
        {
            step.Answer = ClaimOutcome.WrongInstance;
            BeginTermination(step, $"instance {claim.InstanceId} claimed the runner config of this lease's VM {lease.InstanceId} with its token");
        }
        else if (lease.ClaimedAt is { } claimedAt)
        {
            step.Answer = ClaimOutcome.AlreadyClaimed;
            BeginTermination(step, $"a second claim for the runner config (first claimed at {claimedAt:O})");
        }
        else
        {
            step.Commands.Add(new MintRunnerConfig());
        }
    }

    private static void StartAttempt(Step step, bool firstAttemptUnsent, TimeSpan boot)
    {
        var lease = step.Lease;
        var fresh = firstAttemptUnsent && !lease.AttemptFailed && lease.LaunchAttempts == 1;

        // Any launch after the first may follow one whose answer was lost (or a silo that died mid-launch). The first,
        // stored with the order by this activation, cannot: nothing has launched it yet.
        if (!firstAttemptUnsent && lease.AttemptFailed)
        {
            lease.LaunchAttempts++;
            lease.AttemptFailed = false;

            // A VM launched after a long wait gets its whole boot deadline and lifetime from now; the VM is told its expiry at launch.
            var lifetimeBeyondBoot = lease.ExpiresAt - lease.BootDeadline;
            lease.BootDeadline = step.Now + boot;
            lease.ExpiresAt = lease.BootDeadline + lifetimeBeyondBoot;
        }

        lease.NextLaunchAt = null;

        // Only the first attempt, unsent by this very activation, may take a pool VM: any later one may already have a VM.
        step.Commands.Add(fresh
            ? new TakeFromPool(lease.LaunchAttempts)
            : new LaunchVm(lease.LaunchAttempts, LookForEarlier: !firstAttemptUnsent));
    }

    private void AttemptFailed(Step step, LaunchFailed failed)
    {
        var lease = step.Lease;
        lease.LastError = $"launch attempt {failed.Attempt} failed: {failed.Error}";
        lease.AttemptFailed = true;
        if (failed.Permanent)
        {
            lease.Refused = true;
            Fail(step, $"launch attempt {failed.Attempt} was refused and retrying cannot help: {failed.Error}");
        }
        else if (RetryDelay(lease.RunnerName, failed.Attempt) is var delay && step.Now + delay >= lease.GiveUpAt)
        {
            Fail(step, $"no VM by {lease.GiveUpAt:O}, when GitHub stops keeping the job queued, after {failed.Attempt} launch attempts; last error: {failed.Error}");
        }
        else
        {
            // Capacity, throttling, an outage: they pass. Retry, backing off, for as long as the job can still run.
            lease.NextLaunchAt = step.Now + delay;
            step.Commands.Add(new ScheduleLaunch(delay));
            step.Commands.Add(new ReportWaiting(lease.LaunchedForJobId,
                $"waiting for a VM: launch attempt {failed.Attempt} failed ({failed.Error}); next attempt at {lease.NextLaunchAt:O}"));
        }
    }

    private static void Fail(Step step, string reason)
    {
        step.Lease.EndReason = reason;
        step.Commands.Add(new CleanUpLaunches());
    }

    /// <summary>One deadline check: the organisation's tick enforces the deadlines and retries unfinished work.</summary>
    private static void CheckDeadlines(Step step, bool launchPending)
    {
        var lease = step.Lease;
        step.Answer = LeaseCheck.Live;
        if (lease.Phase == LeasePhase.Terminating)
        {
            ConfirmTermination(step);
        }
        else if (lease.Phase == LeasePhase.Launching && step.Now >= lease.GiveUpAt && !launchPending)
        {
            Fail(step, $"no VM by {lease.GiveUpAt:O}, when GitHub stops keeping the job queued");
        }
        else if (step.Now >= lease.ExpiresAt)
        {
            BeginTermination(step, $"maximum lifetime reached at {lease.ExpiresAt:O}");
        }
        else if (lease.Phase.IsUnbound() && lease.Phase != LeasePhase.Launching && step.Now >= lease.BootDeadline)
        {
            Release(step, $"boot deadline passed at {lease.BootDeadline:O} with no job started on the runner");
        }
        else if (lease.PendingRelease is { } reason)
        {
            Release(step, reason);
        }
        else if (lease.Phase == LeasePhase.Launching && !launchPending)
        {
            // A silo died mid-launch, or a retry was pending: resume when it was due; the idempotency token prevents a second VM.
            var due = lease.NextLaunchAt is { } next && next > step.Now ? next - step.Now : TimeSpan.Zero;
            step.Commands.Add(new ScheduleLaunch(due));
        }
        else if (lease.Phase == LeasePhase.Booting)
        {
            step.Commands.Add(new DescribeVm(lease.InstanceId!));
        }
    }

    private static void Bind(Step step, long jobId)
    {
        var lease = step.Lease;
        if (lease.JobId == jobId)
        {
            step.Answer = BindOutcome.AlreadyBound;
        }
        else if (lease.JobId is null && lease.Phase >= LeasePhase.Terminating && lease.InstanceId is not null)
        {
            // The lease gave up on its VM before it heard that the runner had taken this job (the in_progress came
            // late): the job still ran here, and what ran on a Builtiful VM is billed. A lease that never had a VM ran nothing.
            lease.JobId = jobId;
            step.Answer = BindOutcome.RanAfterEnd;
        }
        else if (lease.JobId is not null || lease.Phase >= LeasePhase.Terminating)
        {
            step.Answer = BindOutcome.Refused;
        }
        else
        {
            // A claimed runner's job is not written on its own: the job's end stores it (completed binds a lease that lost
            // it, see JobCompleted), and a lease restarted without it reads Idle, whose release asks GitHub first, which
            // refuses to remove a busy runner (KeptBusy), so the VM of a running job is never taken for idle.
            step.Write = lease.Phase == LeasePhase.Idle ? LeaseWrite.Defer : LeaseWrite.WhenChanged;
            lease.JobId = jobId;
            lease.Phase = LeasePhase.Busy;
            lease.PendingRelease = null;
            step.Answer = BindOutcome.Bound;
        }
    }

    private static void Release(Step step, string reason)
    {
        var lease = step.Lease;
        if (lease.Phase >= LeasePhase.Terminating)
        {
            step.Answer = ReleaseOutcome.AlreadyOver;
        }
        else if (lease.Phase == LeasePhase.Busy)
        {
            step.Answer = ReleaseOutcome.KeptBusy;
        }
        else if (lease.Phase >= LeasePhase.Booting)
        {
            // The runner may be registered: deregister it first so GitHub hands it no job while it dies.
            step.Commands.Add(new RemoveRunner(reason, RunnerRemovalPurpose.Release));
        }
        else
        {
            BeginTermination(step, reason);
            step.Answer = ReleaseOutcome.Terminating;
        }
    }

    private static void RunnerGone(Step step, RunnerRemoved removed)
    {
        if (removed.Purpose == RunnerRemovalPurpose.Release && removed.Removal == RunnerRemoval.Busy)
        {
            step.Answer = ReleaseOutcome.KeptBusy;
            return;
        }

        BeginTermination(step, removed.Reason);
        step.Answer = ReleaseOutcome.Terminating;
    }

    private static void RunnerStays(Step step, RunnerRemovalFailed failed)
    {
        var lease = step.Lease;
        step.Answer = ReleaseOutcome.Terminating;
        if (failed.Purpose == RunnerRemovalPurpose.Release && !failed.Permanent && step.Now < lease.BootDeadline + ReleaseGrace)
        {
            lease.PendingRelease = failed.Reason;
            lease.LastError = $"could not deregister runner {lease.RunnerName}: {failed.Error}";
            return;
        }

        // GitHub refuses for good (the App lost access), keeps failing past the deadline, or the VM is gone anyway: the VM goes regardless.
        lease.LastError = $"runner {lease.RunnerName} could not be deregistered: {failed.Error}";
        BeginTermination(step, failed.Reason);
    }

    /// <summary>
    /// "Terminating" is not written before the termination call: its answer comes in the same turn, and a VM confirmed gone
    /// is written once as ended, one that is not yet gone as terminating. A lease that dies in between restarts in its
    /// phase before; whatever began the termination comes again (the job's redelivered <c>completed</c>, the deadline
    /// check, the organisation's look at its Idle and Busy VMs, which finds this one gone).
    /// </summary>
    private static void BeginTermination(Step step, string reason)
    {
        step.Write = LeaseWrite.Defer;
        step.Lease.Phase = LeasePhase.Terminating;
        step.Lease.EndReason = reason;
        step.Lease.PendingRelease = null;
        step.Commands.Add(new CancelLaunch());
        ConfirmTermination(step);
    }

    private static void ConfirmTermination(Step step)
    {
        step.Lease.TerminationAttempts++;
        step.Commands.Add(new TerminateVm(step.Lease.InstanceId));
    }

    private static void End(Step step, LeasePhase phase)
    {
        var lease = step.Lease;
        lease.Phase = phase;
        lease.TerminatedAt = step.Now;
        lease.LastError = phase == LeasePhase.Failed ? lease.LastError : null;
        step.Commands.Add(new StopTerminationPoll());
        step.Commands.Add(new AppendHistory(lease.InstallationId, phase, step.Now));
        step.Commands.Add(new ReportEnded(lease.InstallationId, Awaited: true));
        step.Commands.Add(new Deactivate());
    }

    private static void Forget(Step step)
    {
        var lease = step.Lease;
        if (lease.Repository is null && lease.LaunchedForJobId == 0 && lease.JobId is null && lease.Labels.Count == 0)
        {
            step.Answer = Jobs.RetentionOutcome.Absent;
            return;
        }

        // What tied the VM to a job and a repository goes; the ended lease itself stays, so an organisation that still
        // counts it (a lost "lease ended") finds it over rather than unknown and never launches for it again.
        lease.Repository = null;
        lease.LaunchedForJobId = 0;
        lease.JobId = null;
        lease.Labels = [];
        lease.AccountLogin = null;
        lease.EndReason = null;
        lease.LastError = null;
        step.Answer = Jobs.RetentionOutcome.Deleted;
        step.Commands.Add(new Deactivate());
    }

    private sealed class Step(LeaseState lease, DateTimeOffset now)
    {
        public LeaseState Lease { get; } = lease;

        public DateTimeOffset Now { get; } = now;

        public List<LeaseCommand> Commands { get; } = [];

        public Enum? Answer { get; set; }

        public LeaseWrite Write { get; set; }
    }
}
