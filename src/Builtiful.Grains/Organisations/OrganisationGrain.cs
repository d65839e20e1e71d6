using Builtiful.Jobs;
using Builtiful.Leases;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Builtiful.Organisations;

public sealed partial class OrganisationGrain(
    [PersistentState("organisation", StorageNames.Grains)] IPersistentState<OrganisationState> state,
    IOptions<OrganisationOptions> defaults,
    IOptions<LeaseOptions> leaseOptions,
    ILogger<OrganisationGrain> logger) : Grain, IOrganisationGrain
{
    private OrganisationState Org => state.State;

    private OrganisationLimits Limits => Org.Limits ?? defaults.Value.ToLimits();

    private long InstallationId => this.GetPrimaryKeyLong();

    /// <summary>
    /// A slot is written before its lease is created; if creating the lease failed, the stored slot points at no lease.
    /// Deactivation follows every failed call, so activation is where that is repaired. An organisation stored by an
    /// earlier version, whose leases had reminders of their own, registers its deadline reminder here.
    /// </summary>
    public override async Task OnActivateAsync(CancellationToken cancellationToken)
    {
        if (Org.Leases.Count > 0)
        {
            await EnsureDrivingAsync();
        }

        foreach (var (leaseId, slot) in Org.Leases.Where(kv => kv.Value.BoundJobId is null && kv.Value.ForJob is not null).ToList())
        {
            try
            {
                if (await GrainFactory.GetGrain<IVmLeaseGrain>(leaseId).GetView() is null)
                {
                    LogRepaired(logger, InstallationId, leaseId, slot.ForJob!.JobId);
                    await RequestLeaseAsync(leaseId, slot.MachineType, slot.ForJob);
                }
            }
            catch (Exception ex)
            {
                // One lease must not keep the organisation (and its reminder's checks of the others) from activating:
                // the slot stays, and the next tick finds the lease unknown and requests it again.
                LogCheckFailed(logger, InstallationId, leaseId, ex.Message);
            }
        }
    }

    public async Task ApplyInstallation(InstallationChange change)
    {
        ArgumentNullException.ThrowIfNull(change);
        if (Org.Status == OrganisationStatus.Deleted)
        {
            LogAfterDeletion(logger, InstallationId, change.Action);
            return;
        }

        Org.Login = change.AccountLogin ?? Org.Login;
        Org.AccountType = change.AccountType ?? Org.AccountType;
        Org.Username = change.SenderLogin ?? Org.Username;
        Org.Email = change.Email ?? Org.Email;
        Org.RepositoryCount = change.RepositoryCount ?? Org.RepositoryCount;
        Org.RepositorySelection = change.RepositorySelection ?? Org.RepositorySelection;
        Org.Limits ??= defaults.Value.ToLimits();

        var before = Org.Status;
        switch (change.Action)
        {
            case InstallationAction.Created when Org.Status == OrganisationStatus.Unknown:
                Org.Status = OrganisationStatus.Active;
                break;
            case InstallationAction.Suspended when Org.Status is OrganisationStatus.Active or OrganisationStatus.Unknown:
                Org.Status = OrganisationStatus.Suspended;
                break;
            case InstallationAction.Unsuspended when Org.Status is OrganisationStatus.Suspended or OrganisationStatus.Unknown:
                Org.Status = OrganisationStatus.Active;
                break;
            case InstallationAction.Deleted:
                Org.Status = OrganisationStatus.Deleted;
                break;
        }

        await state.WriteStateAsync();
        await RegisterInDirectoryAsync();
        if (before != Org.Status)
        {
            LogStatus(logger, InstallationId, before, Org.Status);
        }

        switch (Org.Status)
        {
            case OrganisationStatus.Deleted:
                await TerminateEverythingAsync();
                break;
            case OrganisationStatus.Suspended when before != OrganisationStatus.Suspended:
                await ReleaseUnboundAsync("the installation was suspended");
                break;
            case OrganisationStatus.Active when before != OrganisationStatus.Active:
                await AdmitWaitingAsync();
                break;
        }

        await AdmitParkedAsync();
    }

    public async Task ApplyRepositories(RepositoriesChange change)
    {
        ArgumentNullException.ThrowIfNull(change);
        if (Org.RepositoryCount is { } count)
        {
            Org.RepositoryCount = Math.Max(0, count + change.Added - change.Removed);
        }

        Org.RepositorySelection = change.RepositorySelection ?? Org.RepositorySelection;
        await state.WriteStateAsync();
    }

    public async Task<Admission> RequestRunner(RunnerRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        if (Org.Status == OrganisationStatus.Unknown)
        {
            return await ParkAsync(request);
        }

        if (Org.Status != OrganisationStatus.Active)
        {
            return Org.Status switch
            {
                OrganisationStatus.Suspended => Refuse(RejectionCode.SuspendedInstallation, $"installation {InstallationId} is suspended"),
                _ => Refuse(RejectionCode.DeletedInstallation, $"installation {InstallationId} was deleted"),
            };
        }

        if (OperatorRefusal() is { } held)
        {
            return held;
        }

        if (Limits.AllowedMachineTypes.Count > 0
            && !Limits.AllowedMachineTypes.Contains(request.MachineType.Label, StringComparer.OrdinalIgnoreCase))
        {
            return Refuse(RejectionCode.MachineTypeNotAllowed, $"machine type {request.MachineType.Label} is not allowed for installation {InstallationId}");
        }

        if (RepositoryRefusal(request) is { } refused)
        {
            return refused;
        }

        var waitingIndex = Org.WaitingLine.FindIndex(w => w.JobId == request.JobId);
        if (waitingIndex >= 0)
        {
            return new Admission(AdmissionKind.Duplicate, Position: waitingIndex + 1);
        }

        foreach (var (leaseId, slot) in Org.Leases)
        {
            if (slot.BoundJobId == request.JobId)
            {
                return new Admission(AdmissionKind.Duplicate, LeaseId: leaseId);
            }

            if (slot.ForJob is { } pending && pending.JobId == request.JobId)
            {
                // A redelivery after a failure may find the slot but a lease that was never created or never armed.
                await RequestLeaseAsync(leaseId, slot.MachineType, pending);
                return new Admission(AdmissionKind.Duplicate, LeaseId: leaseId);
            }
        }

        var waiting = new WaitingJob { JobId = request.JobId, MachineType = request.MachineType, Labels = request.Labels, QueuedAt = request.QueuedAt, Repository = request.Repository };
        if (Org.Leases.Count >= Limits.MaxConcurrentVms && await ForgetEndedLeasesAsync() > 0)
        {
            // Jobs whose VMs ended unnoticed went back to the head of the line: they come before this one.
            await AdmitWaitingAsync();
        }

        if (Org.Leases.Count < Limits.MaxConcurrentVms)
        {
            var leaseId = await StartLeaseAsync(waiting);
            return new Admission(AdmissionKind.Started, LeaseId: leaseId);
        }

        Org.WaitingLine.Add(waiting);
        await state.WriteStateAsync();
        await EnsureDrivingAsync();
        return new Admission(AdmissionKind.Waiting, Position: Org.WaitingLine.Count);
    }

    public async Task JobStarted(long jobId, Guid? leaseId)
    {
        var changed = ForgetQueued(jobId);
        var ownLease = FindLeaseFor(jobId);
        if (leaseId is { } id && Org.Leases.TryGetValue(id, out var slot))
        {
            if (slot.BoundJobId == jobId)
            {
                if (changed)
                {
                    await state.WriteStateAsync();
                }

                await EnforcePolicyOnRunnerAsync(id, jobId);
                return;
            }

            // The runner took this job; the job the VM was launched for inherits this job's own VM if that VM's runner
            // can take it (GitHub gives a runner only its repository's jobs whose labels it has); otherwise that VM is surplus.
            var orphan = slot.ForJob is { } meantFor && meantFor.JobId != jobId ? meantFor : null;
            slot.BoundJobId = jobId;
            slot.ForJob = null;
            if (ownLease is { } own && own.Id != id)
            {
                var inherits = orphan is not null && own.Slot.CanTake(orphan.MachineType, orphan.Labels, orphan.Repository);
                own.Slot.ForJob = inherits ? orphan : null;
                orphan = inherits ? null : orphan;
            }

            if (orphan is not null)
            {
                // The orphaned job had only this VM: it goes back to the head of the line for a new one.
                Org.WaitingLine.Insert(0, new WaitingJob { JobId = orphan.JobId, MachineType = slot.MachineType, Labels = orphan.Labels, QueuedAt = orphan.QueuedAt, Repository = orphan.Repository, Attempts = orphan.Attempts - 1 });
            }

            changed = true;
        }
        else if (ownLease is { } own)
        {
            // Started on a runner that is not one of ours: the VM launched for it has no job left.
            own.Slot.ForJob = null;
            changed = true;
        }

        if (changed)
        {
            await state.WriteStateAsync();
        }

        if (leaseId is { } ran && Org.Leases.ContainsKey(ran))
        {
            await EnforcePolicyOnRunnerAsync(ran, jobId);
        }

        await ReleaseSurplusAsync();
        await AdmitWaitingAsync();
    }

    public async Task JobFinished(long jobId)
    {
        var changed = ForgetQueued(jobId);
        if (FindLeaseFor(jobId) is { } own)
        {
            own.Slot.ForJob = null;
            changed = true;
        }

        if (changed)
        {
            await state.WriteStateAsync();
        }

        await ReleaseSurplusAsync();
        await AdmitWaitingAsync();
    }

    public async Task LeaseEnded(Guid leaseId)
    {
        if (!await ForgetSlotAsync(leaseId))
        {
            return;
        }

        await state.WriteStateAsync();
        await AdmitWaitingAsync();
    }

    /// <summary>Frees an ended lease's slot; a job still waiting for that VM gets another, a bounded number of times.</summary>
    private async Task<bool> ForgetSlotAsync(Guid leaseId)
    {
        if (!Org.Leases.Remove(leaseId, out var slot))
        {
            return false;
        }

        if (slot.ForJob is { } pending && slot.BoundJobId is null && Org.Status == OrganisationStatus.Active)
        {
            // The job is still queued at GitHub and its VM is gone: start another, a bounded number of times,
            // unless the launch was refused for good (a refusal would only repeat; capacity errors pass).
            var ended = await GrainFactory.GetGrain<IVmLeaseGrain>(leaseId).GetView();
            var reason = ended?.EndReason ?? "the lease is unknown";
            LogLeaseEndedUnused(logger, InstallationId, leaseId, pending.JobId, reason);
            if (pending.Attempts < defaults.Value.ProvisionAttempts && ended is not { Refused: true })
            {
                Org.WaitingLine.Insert(0, new WaitingJob
                {
                    JobId = pending.JobId, MachineType = slot.MachineType, Labels = pending.Labels, QueuedAt = pending.QueuedAt,
                    Repository = pending.Repository, Attempts = pending.Attempts,
                });
            }
            else
            {
                await GrainFactory.GetGrain<IJobGrain>(pending.JobId).ProvisioningFailed(
                    $"failed to provision: {pending.Attempts} VMs ended before a runner took the job; the last ended because {reason}");
            }
        }

        return true;
    }

    public Task<OrganisationView> GetView() => Task.FromResult(new OrganisationView
    {
        InstallationId = InstallationId,
        Status = Org.Status,
        Login = Org.Login,
        AccountType = Org.AccountType,
        LiveLeases = Org.Leases.Count,
        WaitingJobs = Org.WaitingLine.Count,
        Limits = Limits,
        LeaseIds = [.. Org.Leases.Keys],
        WaitingJobIds = [.. Org.WaitingLine.Select(w => w.JobId)],
        RepositoryCount = Org.RepositoryCount,
        ParkedJobIds = [.. Org.ParkedLine.Select(p => p.Request.JobId)],
    });

    public Task<IReadOnlyList<PendingJob>> GetPendingJobs()
    {
        IReadOnlyList<PendingJob> pending =
        [
            .. Org.Leases.Values.Where(s => s.BoundJobId is null && s.ForJob is not null).Select(s => s.ForJob!)
                .Concat(Org.WaitingLine.Select(w => w.ToPending()))
                .OrderBy(p => p.QueuedAt).ThenBy(p => p.JobId),
        ];
        return Task.FromResult(pending);
    }

    private (Guid Id, LeaseSlot Slot)? FindLeaseFor(long jobId)
    {
        foreach (var (id, slot) in Org.Leases)
        {
            if (slot.BoundJobId is null && slot.ForJob?.JobId == jobId)
            {
                return (id, slot);
            }
        }

        return null;
    }

    private async Task<Guid> StartLeaseAsync(WaitingJob job)
    {
        var leaseId = Guid.NewGuid();
        Org.Leases[leaseId] = new LeaseSlot
        {
            MachineType = job.MachineType, ForJob = job.ToPending(), RunnerLabels = [.. job.Labels], RunnerRepository = job.Repository,
        };

        // Stored before the lease exists, so a crash in between can over-count for a moment but never over-launch, and
        // the lease is among those the deadline reminder checks before it can launch anything. A failed request keeps
        // the slot: the lease may have been stored all the same (its answer lost); if not, the next tick, a redelivery
        // or the organisation's next activation requests it again.
        await state.WriteStateAsync();
        await RequestLeaseAsync(leaseId, job.MachineType, job.ToPending());
        LogLeaseStarted(logger, InstallationId, leaseId, job.JobId, job.MachineType.Label);
        return leaseId;
    }

    /// <summary>
    /// Only for a lease whose slot is stored: the deadline reminder is registered before the lease can launch. The runner is
    /// registered as the slot records (its first job's labels and repository), whichever job the VM serves now.
    /// </summary>
    private async Task RequestLeaseAsync(Guid leaseId, Builtiful.Machines.MachineType machineType, PendingJob job)
    {
        var registered = Org.Leases.GetValueOrDefault(leaseId);
        await EnsureDrivingAsync();
        await GrainFactory.GetGrain<IVmLeaseGrain>(leaseId).Request(new LeaseOrder
        {
            InstallationId = InstallationId,
            ForJobId = job.JobId,
            MachineType = machineType,
            Labels = registered?.RunnerLabels ?? job.Labels,
            MaxLifetime = Limits.MaxJobLifetime,
            AccountLogin = Org.Login,
            AccountType = Org.AccountType,
            Repository = registered?.RunnerRepository ?? job.Repository,
            RunnerGroupId = Limits.RunnerGroupId,
        });
    }

    /// <summary>
    /// The one-way "lease ended" notice is lost if a silo dies in between; before a job is made to wait,
    /// slots whose lease is over are found by asking the leases themselves.
    /// </summary>
    private async Task<int> ForgetEndedLeasesAsync()
    {
        var ended = new List<Guid>();
        foreach (var leaseId in Org.Leases.Keys)
        {
            // Unknown means the lease's creation failed after its slot was written: there is no VM behind it.
            if (await GrainFactory.GetGrain<IVmLeaseGrain>(leaseId).GetView() is not { } lease || lease.Phase.IsFinal())
            {
                ended.Add(leaseId);
            }
        }

        if (ended.Count > 0)
        {
            foreach (var id in ended)
            {
                await ForgetSlotAsync(id);
            }

            await state.WriteStateAsync();
            LogForgotten(logger, InstallationId, ended.Count);
        }

        return ended.Count;
    }

    /// <summary>Starts waiting jobs, oldest first, while the organisation is under its VM limit.</summary>
    private async Task AdmitWaitingAsync()
    {
        while (Org.Status == OrganisationStatus.Active && Org.OperatorSuspension is null && Org.WaitingLine.Count > 0 && Org.Leases.Count < Limits.MaxConcurrentVms)
        {
            var next = Org.WaitingLine[0];
            Org.WaitingLine.RemoveAt(0);
            await StartLeaseAsync(next);
        }
    }

    /// <summary>
    /// A VM no queued job is waiting for serves the oldest waiting job its runner can take (same repository, the job's
    /// labels among the runner's), or is released.
    /// </summary>
    private async Task ReleaseSurplusAsync()
    {
        var surplus = Org.Leases.Where(kv => kv.Value.BoundJobId is null && kv.Value.ForJob is null).Select(kv => kv.Key).ToList();
        foreach (var leaseId in surplus)
        {
            var slot = Org.Leases[leaseId];
            var heir = Org.WaitingLine.FindIndex(w => slot.CanTake(w.MachineType.Label, w.Labels, w.Repository));
            if (heir >= 0)
            {
                slot.ForJob = Org.WaitingLine[heir].ToPending();
                Org.WaitingLine.RemoveAt(heir);
                await state.WriteStateAsync();
                continue;
            }

            var outcome = await GrainFactory.GetGrain<IVmLeaseGrain>(leaseId).Release("no queued job needs this VM any more");
            LogSurplus(logger, InstallationId, leaseId, outcome);
        }
    }

    private async Task ReleaseUnboundAsync(string reason)
    {
        foreach (var leaseId in Org.Leases.Where(kv => kv.Value.BoundJobId is null).Select(kv => kv.Key).ToList())
        {
            await GrainFactory.GetGrain<IVmLeaseGrain>(leaseId).Release(reason);
        }
    }

    private async Task TerminateEverythingAsync()
    {
        if (Org.WaitingLine.Count > 0)
        {
            Org.WaitingLine.Clear();
            await state.WriteStateAsync();
        }

        foreach (var leaseId in Org.Leases.Keys.ToList())
        {
            await GrainFactory.GetGrain<IVmLeaseGrain>(leaseId).Terminate("the installation was deleted");
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Installation {InstallationId}: lease {LeaseId} of job {JobId} was never created; requesting it again")]
    private static partial void LogRepaired(ILogger logger, long installationId, Guid leaseId, long jobId);

    [LoggerMessage(Level = LogLevel.Information, Message = "Installation {InstallationId}: {Before} -> {After}")]
    private static partial void LogStatus(ILogger logger, long installationId, OrganisationStatus before, OrganisationStatus after);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Installation {InstallationId} was deleted; {Action} ignored")]
    private static partial void LogAfterDeletion(ILogger logger, long installationId, InstallationAction action);

    [LoggerMessage(Level = LogLevel.Information, Message = "Installation {InstallationId}: lease {LeaseId} started for job {JobId} on {MachineType}")]
    private static partial void LogLeaseStarted(ILogger logger, long installationId, Guid leaseId, long jobId, string machineType);

    [LoggerMessage(Level = LogLevel.Information, Message = "Installation {InstallationId}: surplus lease {LeaseId} released: {Outcome}")]
    private static partial void LogSurplus(ILogger logger, long installationId, Guid leaseId, ReleaseOutcome outcome);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Installation {InstallationId}: {Count} ended leases were still counted; their slots are free again")]
    private static partial void LogForgotten(ILogger logger, long installationId, int count);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Installation {InstallationId}: lease {LeaseId} ended before job {JobId} started on it: {Reason}")]
    private static partial void LogLeaseEndedUnused(ILogger logger, long installationId, Guid leaseId, long jobId, string reason);
}
