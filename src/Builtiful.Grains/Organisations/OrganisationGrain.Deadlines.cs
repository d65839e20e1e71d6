using Builtiful.Leases;
using Builtiful.Providers;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Builtiful.Organisations;

/// <summary>
/// The organisation's side of the deadline promise: one reminder for all its leases instead of one per lease. It is
/// registered before any lease is requested and stays while any slot is stored; each tick calls every recorded lease's
/// <see cref="IVmLeaseGrain.Check"/>. Because a slot is stored and the reminder registered before the lease's
/// <see cref="IVmLeaseGrain.Request"/>, every lease that can launch a VM is reached from a registered reminder; the
/// reminder is persisted, so a dead silo or a deactivated organisation delays the checks by at most one period.
/// </summary>
public sealed partial class OrganisationGrain : IRemindable
{
    internal const string LeaseReminder = "leases";

    /// <summary>Known to be registered by this activation; null when not known (the next request looks it up).</summary>
    private IGrainReminder? _reminder;

    /// <summary>This activation removed the reminder itself, so the next request registers it without looking it up.</summary>
    private bool _reminderRemoved;

    /// <summary>Leases queued for a check or being checked: a lease whose check is slow is not queued twice.</summary>
    private readonly HashSet<Guid> _checking = [];

    private readonly Queue<Guid> _toCheck = new();

    /// <summary>Leases whose check found no stored lease: the next tick requests them again or frees their slot.</summary>
    private readonly HashSet<Guid> _unknown = [];

    private int _checkers;

    /// <summary>The VM of each lease its last check found Idle or Busy: what the next tick's one batched describe asks about.</summary>
    private readonly Dictionary<Guid, string> _watchedVms = [];

    private bool _lookingForVanishedVms;

    /// <summary>The tick: unknown leases repaired, then the machine bounds the lines and drives the leases or stops.</summary>
    public async Task ReceiveReminder(string reminderName, TickStatus status)
    {
        if (reminderName != LeaseReminder)
        {
            return;
        }

        await RepairUnknownLeasesAsync();
        await ApplyAsync(new Tick());
        await ScrubFreeRecordsAsync();
    }

    /// <summary>
    /// The tick starts the checks and returns: they run as a bounded set of calls whose answers come back between the
    /// organisation's other turns, so a lease stuck in a slow cloud call holds up neither admissions nor other leases.
    /// </summary>
    private void StartLeaseChecks()
    {
        if (!_lookingForVanishedVms && _watchedVms.Count > 0)
        {
            _lookingForVanishedVms = true;
            _ = FindVanishedVmsAsync();
        }

        foreach (var leaseId in Org.Leases.Keys)
        {
            if (_checking.Add(leaseId))
            {
                _toCheck.Enqueue(leaseId);
            }
        }

        var limit = Math.Max(1, defaults.Value.LeaseChecksInFlight);
        while (_checkers < limit && _checkers < _toCheck.Count)
        {
            _checkers++;
            _ = CheckLeasesAsync();
        }
    }

    /// <summary>The reminder's registration in flight: interleaved calls that need it share one, not one each.</summary>
    private Task? _registering;

    /// <summary>The reminder's removal in flight: a registration waits for it, so the removal cannot undo it.</summary>
    private Task? _stopping;

    /// <summary>Registers the organisation's reminder unless this activation knows it is there. Before every lease request.</summary>
    private async Task EnsureDrivingAsync()
    {
        while (_stopping is { IsCompleted: false } stopping)
        {
            await SettledAsync(stopping);
        }

        if (_reminder is not null)
        {
            return;
        }

        var registering = _registering ??= RegisterDrivingAsync();
        try
        {
            await registering;
        }
        finally
        {
            // Done, or failed (the next call tries again).
            if (_registering == registering)
            {
                _registering = null;
            }
        }
    }

    private async Task RegisterDrivingAsync()
    {
        // Looked up first (unless this activation removed it): registering again would move its next tick a period away.
        _reminder = (_reminderRemoved ? null : await this.GetReminder(LeaseReminder))
            ?? await this.RegisterOrUpdateReminder(LeaseReminder, leaseOptions.Value.CheckPeriod, leaseOptions.Value.CheckPeriod);
        _reminderRemoved = false;
    }

    /// <summary>
    /// No slot was left when the tick decided. The tick's decision wrote the state first: a stale duplicate activation
    /// (during a silo kill) fails on the storage's version check there instead of removing the reminder the other
    /// activation's leases rely on, and once that write is stored any such activation fails its next write before it can
    /// request a lease. Admissions interleave with the tick, so a slot may have been stored since: then the reminder
    /// stays, or is registered again once the removal is done, and no stored slot is ever left without its deadlines.
    /// </summary>
    private async Task StopDrivingAsync()
    {
        if (_stopping is { IsCompleted: false })
        {
            return;
        }

        var stopping = RemoveReminderAsync();
        _stopping = stopping;
        try
        {
            await stopping;
        }
        finally
        {
            if (_stopping == stopping)
            {
                _stopping = null;
            }
        }

        if (Org.Leases.Count > 0)
        {
            await EnsureDrivingAsync();
        }
    }

    private async Task RemoveReminderAsync()
    {
        if (_registering is { } registering)
        {
            // A registration on its way would otherwise land after the removal.
            await SettledAsync(registering);
        }

        if (Org.Leases.Count > 0)
        {
            return;
        }

        // A handle made stale by another activation's registration fails the removal, which keeps the reminder: safe.
        var reminder = _reminder ?? await this.GetReminder(LeaseReminder);
        _reminder = null;
        if (reminder is not null)
        {
            await this.UnregisterReminder(reminder);
            LogIdle(logger, InstallationId);
        }

        _reminderRemoved = true;
    }

    /// <summary>Waits for an operation another call started and handles; its failure is that call's to report.</summary>
    private static async Task SettledAsync(Task operation)
    {
        try
        {
            await operation;
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
        }
    }

    private async Task CheckLeasesAsync()
    {
        try
        {
            while (_toCheck.TryDequeue(out var leaseId))
            {
                try
                {
                    await AfterOrderAsync(leaseId);
                    var lease = GrainFactory.Reference<IVmLeaseGrain>(leaseId);
                    var check = await lease.Check();
                    if (check == LeaseCheck.Unknown)
                    {
                        _unknown.Add(leaseId);
                    }

                    await WatchVmAsync(leaseId, lease, check);
                }
                catch (Exception ex)
                {
                    // One lease's failure must not stop the others; the next tick checks it again.
                    LogCheckFailed(logger, InstallationId, leaseId, ex.Message);
                }
                finally
                {
                    _checking.Remove(leaseId);
                }
            }
        }
        finally
        {
            _checkers--;
        }
    }

    private async Task WatchVmAsync(Guid leaseId, IVmLeaseGrain lease, LeaseCheck check)
    {
        if (check == LeaseCheck.Live && await lease.GetView() is { Phase: LeasePhase.Idle or LeasePhase.Busy, InstanceId: { } instanceId })
        {
            _watchedVms[leaseId] = instanceId;
        }
        else
        {
            _watchedVms.Remove(leaseId);
        }
    }

    /// <summary>
    /// One batched describe of every VM an Idle or Busy lease holds: a VM the provider reports terminated or does not know
    /// (its job's <c>completed</c> was lost, it died, someone terminated it by hand) ends its lease, which removes the runner
    /// and frees the slot, instead of holding the slot until the maximum lifetime.
    /// </summary>
    private async Task FindVanishedVmsAsync()
    {
        try
        {
            foreach (var stale in _watchedVms.Keys.Where(id => !Org.Leases.ContainsKey(id)).ToList())
            {
                _watchedVms.Remove(stale);
            }

            var watched = _watchedVms.ToList();
            if (watched.Count == 0)
            {
                return;
            }

            IReadOnlyDictionary<string, InstanceState> states;
            var clock = ServiceProvider.GetRequiredKeyedService<TimeProvider>(BuiltifulClock.Key);
            using (var timeout = new CancellationTokenSource(leaseOptions.Value.CallTimeout, clock))
            {
                states = await ServiceProvider.GetRequiredService<IComputeProvider>()
                    .DescribeManyAsync([.. watched.Select(w => w.Value).Distinct(StringComparer.Ordinal)], timeout.Token);
            }

            var observed = new List<ObservedVm>();
            foreach (var (leaseId, instanceId) in watched)
            {
                if (states.TryGetValue(instanceId, out var seen) && seen is InstanceState.Terminated or InstanceState.NotFound)
                {
                    _watchedVms.Remove(leaseId);
                    observed.Add(new ObservedVm(leaseId, instanceId, seen));
                }
            }

            await ApplyAsync(new VmsObserved(observed));
        }
        catch (Exception ex)
        {
            LogVanishedCheckFailed(logger, InstallationId, ex.Message);
        }
        finally
        {
            _lookingForVanishedVms = false;
        }
    }

    /// <summary>
    /// A slot whose lease was never stored: its request failed (and so did the caller's retry, or nobody retried). A
    /// job still waiting for it gets the lease requested again; a slot no job needs any more is freed.
    /// </summary>
    private async Task RepairUnknownLeasesAsync()
    {
        if (_unknown.Count == 0)
        {
            return;
        }

        var unknown = _unknown.ToList();
        _unknown.Clear();
        foreach (var leaseId in unknown)
        {
            // A slot no job waits for is freed only once its lease is confirmed never stored.
            await AfterOrderAsync(leaseId);
            if (!Org.Leases.TryGetValue(leaseId, out var slot)
                || (!AdmissionMachine.IsAwaitingRunner(slot) && await Lease(leaseId).GetView() is not null))
            {
                continue;
            }

            try
            {
                await ApplyAsync(new LeaseUnknown(leaseId));
            }
            catch (Exception ex)
            {
                LogCheckFailed(logger, InstallationId, leaseId, ex.Message);
            }
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Installation {InstallationId}: the deadline check of lease {LeaseId} failed: {Error}")]
    private static partial void LogCheckFailed(ILogger logger, long installationId, Guid leaseId, string error);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Installation {InstallationId}: the VM {InstanceId} of lease {LeaseId} is {State} at the provider; the lease ends")]
    private static partial void LogVanished(ILogger logger, long installationId, Guid leaseId, string instanceId, InstanceState state);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Installation {InstallationId}: the batched look at its VMs failed: {Error}")]
    private static partial void LogVanishedCheckFailed(ILogger logger, long installationId, string error);

    [LoggerMessage(Level = LogLevel.Debug, Message = "Installation {InstallationId}: no live lease left; the deadline reminder is removed")]
    private static partial void LogIdle(ILogger logger, long installationId);
}
