using Builtiful.Jobs;
using Builtiful.Leases;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Builtiful.Organisations;

/// <summary>
/// The organisation's grain: it loads its state, lets <see cref="AdmissionMachine"/> decide, writes the state, then runs
/// the decision's commands and feeds what they learn back as events. Every admission decision lives in the machine.
/// </summary>
public sealed partial class OrganisationGrain(
    [PersistentState("organisation", StorageNames.Grains)] IPersistentState<OrganisationState> state,
    IOptions<OrganisationOptions> defaults,
    IOptions<LeaseOptions> leaseOptions,
    ILogger<OrganisationGrain> logger) : Grain, IOrganisationGrain
{
    private AdmissionMachine? _machine;

    private OrganisationState Org => state.State;

    private AdmissionMachine Machine => _machine ??= new AdmissionMachine(InstallationId, defaults.Value);

    private OrganisationLimits Limits => Machine.LimitsOf(Org);

    private long InstallationId => this.GetPrimaryKeyLong();

    private TimeProvider Clock => ServiceProvider.GetRequiredKeyedService<TimeProvider>(BuiltifulClock.Key);

    /// <summary>
    /// A slot is written before its lease is created; if creating the lease failed, the stored slot points at no lease.
    /// Deactivation follows every failed call, so activation is where that is repaired. A reminder lost while slots are
    /// stored is registered again here. The slots and the waiting line are read from their pages first.
    /// </summary>
    public override async Task OnActivateAsync(CancellationToken cancellationToken)
    {
        await LoadPagesAsync();
        if (Org.Leases.Count > 0)
        {
            await EnsureDrivingAsync();
        }

        foreach (var (leaseId, slot) in Org.Leases.Where(kv => AdmissionMachine.IsAwaitingRunner(kv.Value)).ToList())
        {
            try
            {
                if (await GrainFactory.Reference<IVmLeaseGrain>(leaseId).GetView() is null)
                {
                    await ApplyAsync(new LeaseUnknown(leaseId));
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
        var before = Org.Status;
        var decision = Machine.Decide(Org, new InstallationChanged(change), Clock.GetUtcNow());
        if (!decision.Applied)
        {
            LogAfterDeletion(logger, InstallationId, change.Action);
            return;
        }

        if (before != Org.Status)
        {
            LogStatus(logger, InstallationId, before, Org.Status);
        }

        await RunAsync(decision);
    }

    public Task ApplyRepositories(RepositoriesChange change)
    {
        ArgumentNullException.ThrowIfNull(change);
        return ApplyAsync(new RepositoriesChanged(change));
    }

    public async Task<Admission> RequestRunner(RunnerRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);

        // No sweep of the leases here: each lease reports its end, and the tick's checks repeat a lost report.
        var decision = await ApplyAsync(new JobQueued(request));
        var admission = decision.Reply!;
        if (admission.Kind == AdmissionKind.Parked)
        {
            LogParked(logger, InstallationId, request.JobId, Org.ParkedLine.Count);
        }

        return admission;
    }

    public Task JobStarted(long jobId, Guid? leaseId) => ApplyAsync(new JobStarted(jobId, leaseId));

    public Task JobFinished(long jobId) => ApplyAsync(new JobFinished(jobId));

    public async Task LeaseEnded(Guid leaseId)
    {
        if (Org.Leases.ContainsKey(leaseId))
        {
            await ApplyAsync(new LeasesGone([await EndedAsync(leaseId)]));
        }
    }

    /// <summary>An ended lease's own record, read only when a job still waits for its VM (its end reason decides a retry).</summary>
    private async Task<GoneLease> EndedAsync(Guid leaseId, LeaseView? known = null)
    {
        // An interleaved call may have freed the slot meanwhile: the machine ignores a lease it no longer counts.
        if (!Org.Leases.TryGetValue(leaseId, out var slot) || !AdmissionMachine.IsAwaitingRunner(slot) || Org.Status != OrganisationStatus.Active)
        {
            return new GoneLease(leaseId, known);
        }

        // Read before the lease is asked: an interleaved start may take the slot's job meanwhile.
        var jobId = slot.ForJob!.JobId;
        var ended = known ?? await GrainFactory.Reference<IVmLeaseGrain>(leaseId).GetView();
        LogLeaseEndedUnused(logger, InstallationId, leaseId, jobId, ended?.EndReason ?? "the lease is unknown");
        return new GoneLease(leaseId, ended);
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
            .. Org.Leases.Values.Where(AdmissionMachine.IsAwaitingRunner).Select(s => s.ForJob!)
                .Concat(Org.WaitingLine.Select(w => w.ToPending()))
                .OrderBy(p => p.QueuedAt).ThenBy(p => p.JobId),
        ];
        return Task.FromResult(pending);
    }

    /// <summary>
    /// Only for a lease whose slot is stored: the deadline reminder is registered before the lease can launch. The runner is
    /// registered as the slot records (its first job's labels and repository), whichever job the VM serves now.
    /// </summary>
    private async Task RequestLeaseAsync(Guid leaseId, Builtiful.Machines.MachineType machineType, PendingJob job, bool repair)
    {
        var request = SendLeaseOrderAsync(leaseId, machineType, job, repair);
        _ordering[leaseId] = request;
        try
        {
            await request;
        }
        finally
        {
            if (_ordering.TryGetValue(leaseId, out var current) && current == request)
            {
                _ordering.Remove(leaseId);
            }
        }
    }

    /// <summary>
    /// Lease orders on their way, by lease: the calls interleave, so a check, a release or a termination of a lease whose
    /// order has not arrived would find it unknown (and free its slot, or be dropped as "already over") and then the order
    /// would launch a VM no slot counts. Those wait for the order first.
    /// </summary>
    private readonly Dictionary<Guid, Task> _ordering = [];

    /// <summary>Completes once the lease's order (if one is on its way) has been answered, whether it succeeded or not.</summary>
    private async Task AfterOrderAsync(Guid leaseId)
    {
        while (_ordering.TryGetValue(leaseId, out var order))
        {
            // The order's own caller handles its failure; this one only needs it settled.
            await SettledAsync(order);
            if (_ordering.TryGetValue(leaseId, out var again) && again == order)
            {
                return;
            }
        }
    }

    private async Task SendLeaseOrderAsync(Guid leaseId, Builtiful.Machines.MachineType machineType, PendingJob job, bool repair)
    {
        var registered = Org.Leases.GetValueOrDefault(leaseId);
        await EnsureDrivingAsync();
        await GrainFactory.Reference<IVmLeaseGrain>(leaseId).Request(new LeaseOrder
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
            GiveUpAt = job.QueuedAt + defaults.Value.QueuedJobLifetime,
            Repair = repair,
            OrderedAt = registered?.OrderedAt,
        });
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Installation {InstallationId}: {Before} -> {After}")]
    private static partial void LogStatus(ILogger logger, long installationId, OrganisationStatus before, OrganisationStatus after);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Installation {InstallationId} was deleted; {Action} ignored")]
    private static partial void LogAfterDeletion(ILogger logger, long installationId, InstallationAction action);

    [LoggerMessage(Level = LogLevel.Information, Message = "Installation {InstallationId} is not known yet: job {JobId} is parked ({Count} parked)")]
    private static partial void LogParked(ILogger logger, long installationId, long jobId, int count);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Installation {InstallationId}: lease {LeaseId} ended before job {JobId} started on it: {Reason}")]
    private static partial void LogLeaseEndedUnused(ILogger logger, long installationId, Guid leaseId, long jobId, string reason);
}
