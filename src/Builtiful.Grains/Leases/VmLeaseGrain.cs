using Builtiful.Organisations;
using Builtiful.Providers;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Builtiful.Leases;

/// <summary>
/// One VM's life. Every step that talks to the cloud or GitHub is retried from <see cref="Check"/>, which the
/// organisation's reminder calls every check period for each lease it records (the organisation registers that
/// reminder and stores the lease before it calls <see cref="Request"/>), so a lost webhook, a failed call or a dead
/// silo delays teardown by at most about one check period, never forever. A lease stored by an earlier version has
/// its own "deadlines" reminder instead; that keeps working until the organisation drives the lease, then goes.
/// Launch retries and termination polling run on the lease's own timers between checks.
/// </summary>
public sealed partial class VmLeaseGrain(
    [PersistentState("lease", StorageNames.Grains)] IPersistentState<LeaseState> state,
    IComputeProvider compute,
    IRunnerConfigSource runners,
    IOptions<LeaseOptions> options,
    [FromKeyedServices(BuiltifulClock.Key)] TimeProvider time,
    ILogger<VmLeaseGrain> logger) : Grain, IVmLeaseGrain, IRemindable
{
    internal const string DeadlineReminder = "deadlines";

    /// <summary>How long past its boot deadline a VM waits for GitHub to confirm its runner is deregistered.</summary>
    private static readonly TimeSpan ReleaseGrace = TimeSpan.FromMinutes(5);

    private IGrainTimer? _launchTimer;

    /// <summary>This activation stored the order as the first launch attempt and has not sent that launch yet.</summary>
    private bool _firstAttemptStored;
    private IGrainTimer? _terminationTimer;

    /// <summary>Instances whose termination this activation has asked for: while they shut down, a poll only reads their state.</summary>
    private HashSet<string>? _terminationRequested;

    private LeaseState Lease => state.State;

    private LeaseOptions Options => options.Value;

    private Guid LeaseId => this.GetPrimaryKey();

    /// <summary>
    /// A lease deactivated by a failed call may have stored its order but not launched: any activation (its
    /// organisation's check, an operator's look) resumes the launch. A lease of the earlier design that may not have
    /// armed its own reminder arms it again.
    /// </summary>
    public override async Task OnActivateAsync(CancellationToken cancellationToken)
    {
        if (Lease.Known && Lease.Phase <= LeasePhase.Launching)
        {
            if (!Lease.DrivenByOrganisation)
            {
                await this.RegisterOrUpdateReminder(DeadlineReminder, Options.CheckPeriod, Options.CheckPeriod, cancellationToken);
            }

            ScheduleLaunch(TimeSpan.Zero);
        }
    }

    public async Task Request(LeaseOrder order)
    {
        ArgumentNullException.ThrowIfNull(order);
        if (Lease.Known)
        {
            // A repeated request follows a failure somewhere upstream: make sure this lease is being driven.
            if (!Lease.Phase.IsFinal())
            {
                if (!Lease.DrivenByOrganisation)
                {
                    await this.RegisterOrUpdateReminder(DeadlineReminder, Options.CheckPeriod, Options.CheckPeriod);
                }

                if (Lease.Phase <= LeasePhase.Launching && _launchTimer is null)
                {
                    ScheduleLaunch(TimeSpan.Zero);
                }
            }

            return;
        }

        var now = time.GetUtcNow();
        var lifetime = order.MaxLifetime is { } cap && cap < Options.MaxLifetime ? cap : Options.MaxLifetime;
        Lease.Known = true;

        // The order is stored as the first launch attempt, so that attempt needs no write of its own before its launch
        // call. If this activation dies before the call, the next one looks for the attempt's VM by tag first and
        // launches with the same idempotency token, as after any launch whose answer was lost.
        Lease.Phase = LeasePhase.Launching;
        Lease.LaunchAttempts = 1;
        Lease.InstallationId = order.InstallationId;
        Lease.LaunchedForJobId = order.ForJobId;
        Lease.MachineType = order.MachineType;
        Lease.Labels = [.. order.Labels];
        Lease.RunnerName = RunnerNames.ForLease(LeaseId);
        Lease.AccountLogin = order.AccountLogin;
        Lease.AccountType = order.AccountType;
        Lease.Repository = order.Repository;
        Lease.RunnerGroupId = order.RunnerGroupId;
        Lease.RequestedAt = now;
        Lease.BootDeadline = now + Options.BootDeadline;
        Lease.ExpiresAt = now + lifetime;
        Lease.DrivenByOrganisation = order.DrivenByOrganisation;
        await GrainFactory.GetGrain<Retention.IRetentionHourGrain>(Retention.RetentionKeys.Hour(order.InstallationId, now, LeaseId)).AddLease(LeaseId);
        await state.WriteStateAsync();
        _firstAttemptStored = true;

        // A reminder exists before any VM does, so nothing launched from here on can outlive its deadline: the
        // organisation's (it registered it before this call), or, ordered by an earlier version, the lease's own.
        if (!Lease.DrivenByOrganisation)
        {
            await this.RegisterOrUpdateReminder(DeadlineReminder, Options.CheckPeriod, Options.CheckPeriod);
        }

        ScheduleLaunch(TimeSpan.Zero);
    }

    public async Task<Jobs.RetentionOutcome> Forget()
    {
        if (!Lease.Known)
        {
            return Jobs.RetentionOutcome.Absent;
        }

        if (!Lease.Phase.IsFinal())
        {
            return Jobs.RetentionOutcome.Kept;
        }

        if (Lease.Repository is null && Lease.LaunchedForJobId == 0 && Lease.JobId is null && Lease.Labels.Count == 0)
        {
            return Jobs.RetentionOutcome.Absent;
        }

        // What tied the VM to a job and a repository goes; the ended lease itself stays, so an organisation that still
        // counts it (a lost "lease ended") finds it over rather than unknown and never launches for it again.
        Lease.Repository = null;
        Lease.LaunchedForJobId = 0;
        Lease.JobId = null;
        Lease.Labels = [];
        Lease.AccountLogin = null;
        Lease.EndReason = null;
        Lease.LastError = null;
        await state.WriteStateAsync();
        DeactivateOnIdle();
        return Jobs.RetentionOutcome.Deleted;
    }

    public async Task<BindOutcome> BindJob(long jobId)
    {
        if (!Lease.Known)
        {
            return BindOutcome.Unknown;
        }

        if (Lease.JobId == jobId)
        {
            return BindOutcome.AlreadyBound;
        }

        if (Lease.JobId is null && Lease.Phase >= LeasePhase.Terminating && Lease.InstanceId is not null)
        {
            // The lease gave up on its VM before it heard that the runner had taken this job (the in_progress came
            // late): the job still ran here, and what ran on a Builtiful VM is billed. A lease that never had a VM ran nothing.
            Lease.JobId = jobId;
            await state.WriteStateAsync();
            LogBound(logger, LeaseId, jobId);
            return BindOutcome.RanAfterEnd;
        }

        if (Lease.JobId is not null || Lease.Phase >= LeasePhase.Terminating)
        {
            return BindOutcome.Refused;
        }

        Lease.JobId = jobId;
        Lease.Phase = LeasePhase.Busy;
        Lease.PendingRelease = null;
        await state.WriteStateAsync();
        LogBound(logger, LeaseId, jobId);
        return BindOutcome.Bound;
    }

    public async Task JobCompleted(long jobId)
    {
        if (!Lease.Known || Lease.Phase >= LeasePhase.Terminating)
        {
            return;
        }

        if (Lease.JobId is null)
        {
            // completed without in_progress: the job still ran here, so it is bound before the VM goes.
            Lease.JobId = jobId;
        }
        else if (Lease.JobId != jobId)
        {
            return;
        }

        await BeginTerminationAsync($"job {jobId} completed");
    }

    public async Task<ReleaseOutcome> Release(string reason)
    {
        if (!Lease.Known || Lease.Phase >= LeasePhase.Terminating)
        {
            return ReleaseOutcome.AlreadyOver;
        }

        if (Lease.Phase == LeasePhase.Busy)
        {
            return ReleaseOutcome.KeptBusy;
        }

        if (Lease.Phase >= LeasePhase.Booting)
        {
            // The runner may be registered: deregister it first so GitHub hands it no job while it dies.
            RunnerRemoval removal;
            try
            {
                using var timeout = CallTimeout();
                removal = await runners.RemoveAsync(Registration(), timeout.Token);
            }
            catch (Exception ex) when (ex is not IProviderFailure { IsPermanent: true } && time.GetUtcNow() < Lease.BootDeadline + ReleaseGrace)
            {
                Lease.PendingRelease = reason;
                Lease.LastError = $"could not deregister runner {Lease.RunnerName}: {ex.Message}";
                await state.WriteStateAsync();
                LogReleaseDeferred(logger, LeaseId, ex.Message);
                return ReleaseOutcome.Terminating;
            }
            catch (Exception ex)
            {
                // GitHub refuses for good (the App lost access) or keeps failing past the deadline: the VM goes regardless.
                Lease.LastError = $"runner {Lease.RunnerName} could not be deregistered: {ex.Message}";
                LogReleaseDeferred(logger, LeaseId, ex.Message);
                removal = RunnerRemoval.NotFound;
            }

            if (removal == RunnerRemoval.Busy)
            {
                LogKeptBusy(logger, LeaseId);
                return ReleaseOutcome.KeptBusy;
            }
        }

        await BeginTerminationAsync(reason);
        return ReleaseOutcome.Terminating;
    }

    public async Task VmGone(string instanceId, InstanceState observed)
    {
        if (!Lease.Known || Lease.Phase is not (LeasePhase.Idle or LeasePhase.Busy) || Lease.InstanceId != instanceId)
        {
            return;
        }

        var phase = Lease.Phase;
        try
        {
            // No job can run on this runner any more: GitHub must not hand it one (a busy one cannot be deleted; it goes with its job).
            using var timeout = CallTimeout();
            await runners.RemoveAsync(Registration(), timeout.Token);
        }
        catch (Exception ex)
        {
            Lease.LastError = $"runner {Lease.RunnerName} could not be deregistered: {ex.Message}";
            LogReleaseDeferred(logger, LeaseId, ex.Message);
        }

        LogVmGone(logger, LeaseId, instanceId, observed);
        await BeginTerminationAsync($"the VM disappeared: instance {instanceId} is {observed.ToString().ToLowerInvariant()} at the provider while the lease was {phase.ToWire()}");
    }

    public Task Terminate(string reason) =>
        !Lease.Known || Lease.Phase >= LeasePhase.Terminating ? Task.CompletedTask : BeginTerminationAsync(reason);

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
        }
        : null);

    public async Task<LeaseCheck> Check()
    {
        if (!Lease.Known)
        {
            DeactivateOnIdle();
            return LeaseCheck.Unknown;
        }

        if (!Lease.DrivenByOrganisation)
        {
            // A lease of the earlier design: the organisation drives it now, so its own reminder goes.
            Lease.DrivenByOrganisation = true;
            await state.WriteStateAsync();
            await StopReminderAsync();
        }

        if (Lease.Phase.IsFinal())
        {
            // Its "lease ended" may have been lost with a silo: the organisation hears it again, and forgets the slot.
            GrainFactory.GetGrain<IOrganisationGrain>(Lease.InstallationId).LeaseEnded(LeaseId).Ignore();
            DeactivateOnIdle();
            return LeaseCheck.Ended;
        }

        await CheckDeadlinesAsync();
        return Lease.Phase.IsFinal() ? LeaseCheck.Ended : LeaseCheck.Live;
    }

    /// <summary>The reminder of a lease stored by an earlier version, kept until its organisation drives it or it ends.</summary>
    public async Task ReceiveReminder(string reminderName, TickStatus status)
    {
        if (reminderName != DeadlineReminder)
        {
            return;
        }

        if (!Lease.Known || Lease.Phase.IsFinal() || Lease.DrivenByOrganisation)
        {
            // Over, or its organisation's checks drive it now (a removal that failed before is repeated here).
            await StopReminderAsync();
            return;
        }

        await CheckDeadlinesAsync();
    }

    /// <summary>One deadline check: what the lease's own reminder tick did before the organisation drove it.</summary>
    private async Task CheckDeadlinesAsync()
    {
        var now = time.GetUtcNow();
        if (Lease.Phase == LeasePhase.Terminating)
        {
            await ConfirmTerminationAsync();
        }
        else if (now >= Lease.ExpiresAt)
        {
            await BeginTerminationAsync($"maximum lifetime reached at {Lease.ExpiresAt:O}");
        }
        else if (Lease.Phase.IsUnbound() && now >= Lease.BootDeadline)
        {
            await Release($"boot deadline passed at {Lease.BootDeadline:O} with no job started on the runner");
        }
        else if (Lease.PendingRelease is { } reason)
        {
            await Release(reason);
        }
        else if (Lease.Phase <= LeasePhase.Launching && _launchTimer is null)
        {
            // A silo died mid-launch, or a retry was pending: resume; the idempotency token prevents a second VM.
            ScheduleLaunch(TimeSpan.Zero);
        }
        else if (Lease.Phase == LeasePhase.Booting)
        {
            await ObserveBootAsync();
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
        _launchTimer?.Dispose();
        _launchTimer = this.RegisterGrainTimer(() => DeactivateOnFailure(LaunchAsync), new GrainTimerCreationOptions(delay, Timeout.InfiniteTimeSpan) { KeepAlive = true });
    }

    private async Task LaunchAsync()
    {
        _launchTimer?.Dispose();
        _launchTimer = null;
        if (Lease.Phase > LeasePhase.Launching)
        {
            return;
        }

        // Any launch after the first may follow one whose answer was lost (or a silo that died mid-launch). The first,
        // stored with the order by this activation, cannot: nothing has launched it yet.
        var earlierMayExist = Lease.Phase == LeasePhase.Launching && !_firstAttemptStored;
        if (!_firstAttemptStored)
        {
            // Leases stored before the order carried its first attempt are Requested here.
            if (Lease.Phase == LeasePhase.Requested || Lease.AttemptFailed)
            {
                Lease.LaunchAttempts++;
                Lease.AttemptFailed = false;
            }

            Lease.Phase = LeasePhase.Launching;
            await state.WriteStateAsync();
        }

        _firstAttemptStored = false;

        var attempt = Lease.LaunchAttempts;
        try
        {
            using var timeout = CallTimeout();
            if (earlierMayExist && await EarlierLaunchAsync(timeout.Token) is { } earlier)
            {
                // That VM carries this lease's runner and may already run a job: keep it rather than launch another.
                await AdoptAsync(earlier, attempt);
                return;
            }

            var launched = await compute.LaunchAsync(new LaunchRequest
            {
                LeaseId = LeaseId,
                InstallationId = Lease.InstallationId,
                JobId = Lease.LaunchedForJobId,
                MachineType = Lease.MachineType!,
                ClientToken = $"{LeaseId:N}-{attempt}",
                Runner = await runners.CreateAsync(Registration(), timeout.Token),
                ExpiresAt = Lease.ExpiresAt,
                Tags = new Dictionary<string, string>
                {
                    [InstanceTags.Lease] = LeaseId.ToString("N"),
                    [InstanceTags.Installation] = Lease.InstallationId.ToString(System.Globalization.CultureInfo.InvariantCulture),
                    [InstanceTags.Job] = Lease.LaunchedForJobId.ToString(System.Globalization.CultureInfo.InvariantCulture),
                    [InstanceTags.ExpiresAt] = Lease.ExpiresAt.ToString("O"),
                    [InstanceTags.Cluster] = Options.ClusterName,
                },
            }, timeout.Token);

            if (Lease.Phase != LeasePhase.Launching)
            {
                return;
            }

            Lease.InstanceId = launched.InstanceId;
            Lease.LaunchedAt = launched.LaunchedAt;
            Lease.Phase = LeasePhase.Booting;
            Lease.LastError = null;
            await state.WriteStateAsync();
            LogLaunched(logger, LeaseId, launched.InstanceId, Lease.MachineType!.Label, attempt);
            Telemetry.BuiltifulMetrics.RecordLaunch(Lease.MachineType.Label, Lease.RequestedAt, time.GetUtcNow());
            if (attempt > 1)
            {
                await TerminateStraysAsync(launched.InstanceId);
            }
        }
        catch (Exception ex)
        {
            if (Lease.Phase > LeasePhase.Launching)
            {
                // The launch itself was recorded; what failed came after it.
                LogStepFailedAfterLaunch(logger, LeaseId, ex.Message);
                return;
            }

            Lease.LastError = $"launch attempt {attempt} failed: {ex.Message}";
            Lease.AttemptFailed = true;
            LogLaunchFailed(logger, LeaseId, attempt, ex.Message);
            Telemetry.BuiltifulMetrics.RecordLaunchFailure(ex, Lease.MachineType?.Label);
            if (ex is IProviderFailure { IsPermanent: true })
            {
                Lease.Refused = true;
                await FailAsync($"launch attempt {attempt} was refused and retrying cannot help: {ex.Message}");
                return;
            }

            if (attempt >= Options.LaunchAttempts)
            {
                await FailAsync($"no VM after {attempt} launch attempts; last error: {ex.Message}");
                return;
            }

            await state.WriteStateAsync();
            ScheduleLaunch(Options.LaunchRetryDelay * Math.Pow(2, attempt - 1));
        }
    }

    private async Task<InstanceSummary?> EarlierLaunchAsync(CancellationToken cancellationToken)
    {
        var tagged = await compute.ListByTagAsync(InstanceTags.Lease, LeaseId.ToString("N"), cancellationToken);
        return tagged.Where(i => i.State is InstanceState.Pending or InstanceState.Running)
            .OrderBy(i => i.State == InstanceState.Running ? 0 : 1)
            .FirstOrDefault();
    }

    private async Task AdoptAsync(InstanceSummary instance, int attempt)
    {
        Lease.InstanceId = instance.InstanceId;
        Lease.LaunchedAt ??= time.GetUtcNow();
        Lease.Phase = LeasePhase.Booting;
        Lease.LastError = null;
        await state.WriteStateAsync();
        LogAdopted(logger, LeaseId, instance.InstanceId, attempt);
        await TerminateStraysAsync(instance.InstanceId);
    }

    /// <summary>
    /// An earlier attempt whose outcome was unknown may have made a VM after all: only one VM per lease may live. A
    /// failure here is not a failed launch; the reconciler's sweep finds any stray this misses.
    /// </summary>
    private async Task TerminateStraysAsync(string keep)
    {
        try
        {
            using var timeout = CallTimeout();
            var tagged = await compute.ListByTagAsync(InstanceTags.Lease, LeaseId.ToString("N"), timeout.Token);
            foreach (var stray in tagged.Where(i => i.InstanceId != keep && i.State is not (InstanceState.Terminated or InstanceState.NotFound)))
            {
                LogStray(logger, LeaseId, stray.InstanceId);
                await compute.TerminateAsync(stray.InstanceId, timeout.Token);
            }
        }
        catch (Exception ex)
        {
            LogTerminationFailed(logger, LeaseId, 0, ex.Message);
        }
    }

    private async Task ObserveBootAsync()
    {
        try
        {
            using var timeout = CallTimeout();
            var instance = await compute.DescribeAsync(Lease.InstanceId!, timeout.Token);
            switch (instance)
            {
                case InstanceState.Running when Lease.Phase == LeasePhase.Booting:
                    Lease.Phase = LeasePhase.Idle;
                    await state.WriteStateAsync();
                    break;
                case InstanceState.ShuttingDown or InstanceState.Terminated or InstanceState.NotFound:
                    await BeginTerminationAsync($"the VM went away by itself ({instance})");
                    break;
            }
        }
        catch (Exception ex)
        {
            Lease.LastError = $"describe failed: {ex.Message}";
            await state.WriteStateAsync();
        }
    }

    private async Task BeginTerminationAsync(string reason)
    {
        _launchTimer?.Dispose();
        _launchTimer = null;
        Lease.Phase = LeasePhase.Terminating;
        Lease.EndReason = reason;
        Lease.PendingRelease = null;
        await state.WriteStateAsync();
        LogTerminating(logger, LeaseId, reason);
        await ConfirmTerminationAsync();
    }

    /// <summary>Terminates whatever VM the lease may hold and records the lease over once the provider says it is gone.</summary>
    private async Task ConfirmTerminationAsync()
    {
        Lease.TerminationAttempts++;
        try
        {
            using var timeout = CallTimeout();
            var gone = true;
            foreach (var instanceId in await InstancesOfLeaseAsync(timeout.Token))
            {
                var current = await compute.DescribeAsync(instanceId, timeout.Token);
                if (current is InstanceState.Terminated or InstanceState.NotFound)
                {
                    continue;
                }

                // A stopped VM reads as shutting down too: only a termination this activation asked for lets a poll skip asking again.
                if (current != InstanceState.ShuttingDown || _terminationRequested?.Contains(instanceId) != true)
                {
                    await compute.TerminateAsync(instanceId, timeout.Token);
                    (_terminationRequested ??= new(StringComparer.Ordinal)).Add(instanceId);
                    current = await compute.DescribeAsync(instanceId, timeout.Token);
                }

                gone &= current is InstanceState.Terminated or InstanceState.NotFound;
            }

            if (gone)
            {
                await EndAsync(LeasePhase.Terminated);
                return;
            }

            Lease.LastError = null;
        }
        catch (Exception ex)
        {
            Lease.LastError = $"termination attempt {Lease.TerminationAttempts} failed: {ex.Message}";
            LogTerminationFailed(logger, LeaseId, Lease.TerminationAttempts, ex.Message);
        }

        await state.WriteStateAsync();
        _terminationTimer ??= this.RegisterGrainTimer(
            _ => Lease.Phase == LeasePhase.Terminating ? DeactivateOnFailure(ConfirmTerminationAsync) : Task.CompletedTask,
            new GrainTimerCreationOptions(Options.TerminationPollInterval, Options.TerminationPollInterval) { KeepAlive = true });
    }

    private async Task<IReadOnlyList<string>> InstancesOfLeaseAsync(CancellationToken cancellationToken)
    {
        if (Lease.InstanceId is { } known)
        {
            return [known];
        }

        if (Lease.LaunchAttempts == 0 || _firstAttemptStored)
        {
            return [];
        }

        // A launch whose answer was lost may still have made a VM: the lease tag finds it.
        var tagged = await compute.ListByTagAsync(InstanceTags.Lease, LeaseId.ToString("N"), cancellationToken);
        return [.. tagged.Select(i => i.InstanceId)];
    }

    private async Task FailAsync(string reason)
    {
        Lease.EndReason = reason;
        try
        {
            using var timeout = CallTimeout();
            foreach (var instanceId in await InstancesOfLeaseAsync(timeout.Token))
            {
                await compute.TerminateAsync(instanceId, timeout.Token);
            }
        }
        catch (Exception ex)
        {
            // The lease stays Launching-with-failure and the next deadline check retries the cleanup.
            Lease.LastError = $"{reason}; cleanup of tagged instances failed: {ex.Message}";
            await state.WriteStateAsync();
            return;
        }

        await EndAsync(LeasePhase.Failed);
    }

    private async Task EndAsync(LeasePhase phase)
    {
        Lease.Phase = phase;
        Lease.TerminatedAt = time.GetUtcNow();
        Lease.LastError = phase == LeasePhase.Failed ? Lease.LastError : null;
        await state.WriteStateAsync();
        _terminationTimer?.Dispose();
        _terminationTimer = null;
        if (!Lease.DrivenByOrganisation)
        {
            await StopReminderAsync();
        }

        LogEnded(logger, LeaseId, phase, Lease.EndReason);
        await GrainFactory.GetGrain<ILeaseHistoryGrain>(ILeaseHistoryGrain.Key).Ended(new EndedLease(LeaseId, Lease.InstallationId, phase, Lease.TerminatedAt));
        await GrainFactory.GetGrain<IOrganisationGrain>(Lease.InstallationId).LeaseEnded(LeaseId);
        DeactivateOnIdle();
    }

    private async Task StopReminderAsync()
    {
        if (await this.GetReminder(DeadlineReminder) is { } reminder)
        {
            await this.UnregisterReminder(reminder);
        }
    }

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

    [LoggerMessage(Level = LogLevel.Information, Message = "Lease {LeaseId}: launched {InstanceId} ({MachineType}) on attempt {Attempt}")]
    private static partial void LogLaunched(ILogger logger, Guid leaseId, string instanceId, string machineType, int attempt);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Lease {LeaseId}: instance {InstanceId} from an earlier launch whose answer was lost is this lease's VM (attempt {Attempt} launches nothing)")]
    private static partial void LogAdopted(ILogger logger, Guid leaseId, string instanceId, int attempt);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Lease {LeaseId}: launch attempt {Attempt} failed: {Error}")]
    private static partial void LogLaunchFailed(ILogger logger, Guid leaseId, int attempt, string error);

    [LoggerMessage(Level = LogLevel.Information, Message = "Lease {LeaseId}: bound to job {JobId}")]
    private static partial void LogBound(ILogger logger, Guid leaseId, long jobId);

    [LoggerMessage(Level = LogLevel.Information, Message = "Lease {LeaseId}: terminating: {Reason}")]
    private static partial void LogTerminating(ILogger logger, Guid leaseId, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Lease {LeaseId}: termination attempt {Attempt} failed: {Error}")]
    private static partial void LogTerminationFailed(ILogger logger, Guid leaseId, int attempt, string error);

    [LoggerMessage(Level = LogLevel.Information, Message = "Lease {LeaseId}: {Phase} ({Reason})")]
    private static partial void LogEnded(ILogger logger, Guid leaseId, LeasePhase phase, string? reason);

    [LoggerMessage(Level = LogLevel.Information, Message = "Lease {LeaseId}: the runner took a job before it could be deregistered; the VM stays")]
    private static partial void LogKeptBusy(ILogger logger, Guid leaseId);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Lease {LeaseId}: a step failed; the lease reloads its stored state and its next deadline check resumes")]
    private static partial void LogStepFailed(ILogger logger, Guid leaseId, Exception exception);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Lease {LeaseId}: a step after the launch failed: {Error}")]
    private static partial void LogStepFailedAfterLaunch(ILogger logger, Guid leaseId, string error);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Lease {LeaseId}: terminating stray instance {InstanceId} left by an earlier launch attempt")]
    private static partial void LogStray(ILogger logger, Guid leaseId, string instanceId);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Lease {LeaseId}: its VM {InstanceId} is gone ({State}) though no termination was asked for; the lease ends")]
    private static partial void LogVmGone(ILogger logger, Guid leaseId, string instanceId, InstanceState state);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Lease {LeaseId}: release deferred, runner deregistration failed: {Error}")]
    private static partial void LogReleaseDeferred(ILogger logger, Guid leaseId, string error);
}
