using Builtiful.Providers;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Builtiful.Leases;

/// <summary>
/// One VM's life. <see cref="LeaseMachine"/> decides every step; this grain loads the state, writes what the machine
/// decided and runs its commands, feeding their outcomes back as events. Every step that talks to the cloud or GitHub is
/// retried from <see cref="Check"/>, which the organisation's reminder calls every check period for each lease it records,
/// so a lost webhook, a failed call or a dead silo delays teardown by at most about one check period, never forever.
/// Launch retries and termination polling run on the lease's own timers between checks.
/// </summary>
public sealed partial class VmLeaseGrain(
    IGrainContext context,
    IComputeProvider compute,
    IRunnerConfigSource runners,
    IOptions<LeaseOptions> options,
    IOptions<ClaimOptions> claims,
    IOptions<Pools.PoolsOptions> pools,
    IClaimAddress claimAddress,
    Telemetry.LeaseCensus census,
    [FromKeyedServices(BuiltifulClock.Key)] TimeProvider time,
    ILogger<VmLeaseGrain> logger) : Grain, IVmLeaseGrain, IVmLeaseLaunch
{
    private readonly LeaseMachine _machine = new(options.Value);

    /// <summary>The lease's record, read first when the activation starts (<see cref="OnActivateAsync"/>).</summary>
    private readonly StoredState<LeaseState> state = new("lease", context, logger);

    /// <summary>A later launch attempt (a retry's backoff, a launch budget's wait): a timer.</summary>
    private IGrainTimer? _launchTimer;

    /// <summary>
    /// A launch due now, sent to this lease as a one-way call that runs after the current turn. Not a timer: a grain
    /// timer leaves its registration (a few hundred bytes) on the activation after it has fired, for the lease's life.
    /// </summary>
    private bool _launchQueued;

    /// <summary>This activation has a launch scheduled (queued or on a timer).</summary>
    private bool LaunchPending => _launchQueued || _launchTimer is not null;

    /// <summary>
    /// This activation took a first order (not a repair) as the first launch attempt and has not sent that launch yet, so
    /// no VM of this lease can exist: the launch may take a pool VM and need not look for an earlier one.
    /// </summary>
    private bool _firstAttemptFresh;

    /// <summary>The order being taken is a repair (<see cref="LeaseOrder.Repair"/>): an earlier activation may have launched.</summary>
    private bool _repairing;
    private IGrainTimer? _terminationTimer;

    /// <summary>The state holds a change the machine deferred (<see cref="LeaseWrite.Defer"/>): the next write stores it.</summary>
    private bool _unwritten;

    /// <summary>Instances whose termination this activation has asked for: while they shut down, a poll only reads their state.</summary>
    private HashSet<string>? _terminationRequested;

    private LeaseState Lease => state.State;

    private LeaseOptions Options => options.Value;

    private Guid LeaseId => this.GetPrimaryKey();

    /// <summary>A lease deactivated by a failed call may have stored its order but not launched: any activation resumes the launch.</summary>
    public override async Task OnActivateAsync(CancellationToken cancellationToken)
    {
        await state.ReadStateAsync();
        _storedInstanceId = Lease.InstanceId;
        try
        {
            await Run(new Activated());
        }
        catch
        {
            // An activation that fails is not deactivated: it leaves the census here.
            Census(null);
            throw;
        }
    }

    public override Task OnDeactivateAsync(DeactivationReason reason, CancellationToken cancellationToken)
    {
        Census(null);
        return Task.CompletedTask;
    }

    /// <summary>The phase this activation is counted in by the silo's <see cref="Telemetry.LeaseCensus"/>.</summary>
    private LeasePhase? _counted;

    private void Census(LeasePhase? phase)
    {
        census.Move(_counted, phase);
        _counted = phase;
    }

    /// <summary>The VM the stored record names: set from storage and after each write that succeeded.</summary>
    private string? _storedInstanceId;

    /// <summary>Idempotent: a repeated request follows a failure somewhere upstream, and makes sure the launch is under way.</summary>
    public Task Request(LeaseOrder order)
    {
        ArgumentNullException.ThrowIfNull(order);
        _repairing = order.Repair;
        return Run(new Ordered(order, LaunchPending));
    }

    public async Task<Jobs.RetentionOutcome> Forget() => (Jobs.RetentionOutcome)(await Run(new Forgotten()))!;

    public async Task<BindOutcome> BindJob(long jobId) => (BindOutcome)(await Run(new JobBound(jobId)))!;

    public Task JobCompleted(long jobId) => Run(new JobCompleted(jobId));

    public async Task<ReleaseOutcome> Release(string reason) => (ReleaseOutcome)(await Run(new Released(reason)))!;

    public async Task VmGone(string instanceId, InstanceState observed)
    {
        var phase = Lease.Phase;
        await Run(new VmVanished(instanceId, observed));
        if (Lease.Phase != phase)
        {
            LogVmGone(logger, LeaseId, instanceId, observed);
        }
    }

    public Task Terminate(string reason) => Run(new TerminationOrdered(reason));

    public Task OrderRelease(string reason) => Run(new Released(reason));

    public Task OrderTermination(string reason) => Run(new TerminationOrdered(reason));

    public Task<LeaseView?> GetView() => Task.FromResult(Lease.Known
        ? new LeaseView
        {
            Id = LeaseId,
            Phase = Lease.Phase,
            InstanceId = Lease.InstanceId,
            RunnerName = Lease.RunnerName,
            MachineType = Lease.MachineType?.Label,
            LaunchedForJobId = Lease.LaunchedForJobId,
            JobId = Lease.JobId,
            LaunchedAt = Lease.LaunchedAt,
            TerminatedAt = Lease.TerminatedAt,
            InstallationId = Lease.InstallationId,
            RequestedAt = Lease.RequestedAt,
            BootDeadline = Lease.BootDeadline,
            ExpiresAt = Lease.ExpiresAt,
            EndReason = Lease.EndReason,
            LastError = Lease.LastError,
            LaunchAttempts = Lease.LaunchAttempts,
            TerminationAttempts = Lease.TerminationAttempts,
            Refused = Lease.Refused,
            Pool = Lease.Pool,
            StoredInstanceId = _storedInstanceId,
        }
        : null);

    public async Task<LeaseCheck> Check()
    {
        await Run(new DeadlineChecked(LaunchPending));
        return !Lease.Known ? LeaseCheck.Unknown : Lease.Phase.IsFinal() ? LeaseCheck.Ended : LeaseCheck.Live;
    }

    /// <summary>
    /// Decides the event, writes the new state when it changed (unless the machine defers the write; see
    /// <see cref="LeaseWrite"/>), runs the commands in order and decides their outcomes in turn. Returns the last answer
    /// the machine owed the caller.
    /// </summary>
    private async Task<Enum?> Run(LeaseEvent first)
    {
        Enum? answer = null;
        try
        {
            var events = new Queue<LeaseEvent>([first]);
            while (events.TryDequeue(out var @event))
            {
                var before = Lease;
                var decision = _machine.Decide(before, @event, time.GetUtcNow());
                answer = decision.Answer ?? answer;
                var changed = decision.State != before;
                if (changed)
                {
                    state.State = decision.State;
                }

                if (changed && decision.Write == LeaseWrite.Defer)
                {
                    _unwritten = true;
                }
                else if (changed || (decision.Write == LeaseWrite.Flush && _unwritten))
                {
                    await state.WriteStateAsync();
                    _unwritten = false;
                    _storedInstanceId = state.State.InstanceId;
                }

                if (changed)
                {
                    Note(before, decision.State);
                }

                foreach (var command in decision.Commands)
                {
                    if (await ExecuteAsync(command) is { } outcome)
                    {
                        events.Enqueue(outcome);
                    }
                }
            }
        }
        finally
        {
            Census(Telemetry.LeaseCensus.Counted(Lease));
        }

        return answer;
    }

    /// <summary>Logs what the written state says happened.</summary>
    private void Note(LeaseState before, LeaseState after)
    {
        if (!before.Known && after.Known)
        {
            // The order is the first launch attempt, which this activation now sends; a repair's may have been sent before.
            _firstAttemptFresh = !_repairing;
        }

        if (before.JobId is null && after.JobId is { } jobId)
        {
            LogBound(logger, LeaseId, jobId);
        }

        if (before.Phase != after.Phase && after.Phase == LeasePhase.Terminating)
        {
            LogTerminating(logger, LeaseId, after.EndReason ?? "");
        }
        else if (before.Phase != after.Phase && after.Phase.IsFinal())
        {
            LogEnded(logger, LeaseId, after.Phase, after.EndReason);
        }
    }

    /// <summary>Timers are not grain calls, so they reset state themselves when a step (or its write) fails; the next deadline check resumes the work.</summary>
    private async Task DeactivateOnFailure(Func<Task> step)
    {
        try
        {
            await step();
        }
        catch (Exception ex)
        {
            LogStepFailed(logger, LeaseId, ex);
            DeactivateOnIdle();
        }
    }

    private void ScheduleLaunch(TimeSpan delay)
    {
        DropScheduledLaunch();
        if (delay <= TimeSpan.Zero)
        {
            _launchQueued = true;
            GrainFactory.Reference<IVmLeaseLaunch>(LeaseId).LaunchDue().Ignore();
            return;
        }

        _launchTimer = this.RegisterGrainTimer(
            () =>
            {
                _launchTimer?.Dispose();
                _launchTimer = null;
                return LaunchNow();
            },
            new GrainTimerCreationOptions(delay, Timeout.InfiniteTimeSpan) { KeepAlive = true });
    }

    /// <summary>
    /// A queued launch that is still wanted runs; one cancelled or replaced meanwhile does nothing (a launch queued again
    /// after a cancel runs once, on the first of its calls to arrive). A call reaching a later activation does nothing
    /// either: that activation resumes the launch itself.
    /// </summary>
    Task IVmLeaseLaunch.LaunchDue()
    {
        if (!_launchQueued)
        {
            return Task.CompletedTask;
        }

        _launchQueued = false;
        return LaunchNow();
    }

    private void DropScheduledLaunch()
    {
        _launchQueued = false;
        _launchTimer?.Dispose();
        _launchTimer = null;
    }

    private Task LaunchNow() => DeactivateOnFailure(() =>
    {
        var unsent = _firstAttemptFresh;
        _firstAttemptFresh = false;
        return Run(new LaunchDue(unsent));
    });

    private void ArmTerminationPoll() => _terminationTimer ??= this.RegisterGrainTimer(
        _ => Lease.Phase == LeasePhase.Terminating ? DeactivateOnFailure(() => Run(new TerminationPollDue())) : Task.CompletedTask,
        new GrainTimerCreationOptions(Options.TerminationPollInterval, Options.TerminationPollInterval) { KeepAlive = true });

    private RunnerRegistration Registration() => new()
    {
        InstallationId = Lease.InstallationId,
        RunnerName = Lease.RunnerName,
        Labels = Lease.Labels,
        AccountLogin = Lease.AccountLogin,
        AccountType = Lease.AccountType,
        Repository = Lease.Repository,
        RunnerGroupId = Lease.RunnerGroupId,
    };

    /// <summary>Bounds one provider or GitHub call; disposed by the caller.</summary>
    private CancellationTokenSource CallTimeout() => new(Options.CallTimeout, time);
}
