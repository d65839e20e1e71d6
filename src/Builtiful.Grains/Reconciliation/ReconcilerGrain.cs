using System.Globalization;
using Builtiful.Leases;
using Builtiful.Organisations;
using Builtiful.Providers;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Builtiful.Reconciliation;

/// <summary>
/// The cloud is the truth about what costs money: every instance tagged with this cluster must belong to a live
/// lease within its deadline, or it is terminated once two sweeps agree (<see cref="SweepPlanner"/> decides). Each
/// organisation's reminder drives its leases' deadlines; this catches what that cannot (a lease whose state was lost,
/// a launch whose answer never came, a silo that died between two writes).
/// </summary>
public sealed partial class ReconcilerGrain(
    IComputeProvider compute,
    IOptions<ReconcilerOptions> options,
    [FromKeyedServices(BuiltifulClock.Key)] TimeProvider time,
    ILogger<ReconcilerGrain> logger) : Grain, IReconcilerGrain, IRemindable
{
    private const string Reminder = "sweep";

    /// <summary>Lease checks in flight at once within a sweep.</summary>
    private const int LeaseChecksAtOnce = 32;

    private readonly SweepPlanner _planner = new(options.Value);

    // In memory on purpose: losing it (deactivation, silo loss) only delays a termination by one sweep, and a VM's
    // cost stays bounded meanwhile by its own power-off at its deadline and its organisation's reminder.
    private SweepState _state = SweepState.Empty;

    public async Task Start()
    {
        if (await this.GetReminder(Reminder) is null)
        {
            await this.RegisterOrUpdateReminder(Reminder, options.Value.Period, options.Value.Period);
        }
    }

    public async Task ReceiveReminder(string reminderName, TickStatus status)
    {
        try
        {
            await Sweep();
        }
        catch (Exception ex)
        {
            LogSweepFailed(logger, ex.Message);
        }
    }

    public async Task<SweepReport> Sweep()
    {
        // First, so a cloud that cannot be listed does not keep organisations from freeing their slots.
        var freed = await ReconcileOrganisationsAsync();
        using var timeout = new CancellationTokenSource(options.Value.Period, time);
        var cluster = compute.ClusterName;
        var listed = await compute.ListByTagAsync(InstanceTags.Cluster, cluster, timeout.Token);
        var window = _planner.Window(_state, listed, cluster);
        var now = time.GetUtcNow();
        var checks = new List<InstanceCheck>(window.Visit.Count);
        foreach (var batch in window.Visit.Chunk(LeaseChecksAtOnce))
        {
            checks.AddRange(await Task.WhenAll(batch.Select(i => CheckAsync(i, now))));
        }

        var decision = _planner.Decide(_state, window, checks, listed, cluster, now);
        _state = decision.State;
        foreach (var suspect in decision.NewSuspects)
        {
            LogSuspect(logger, suspect, _state.Suspects[suspect].Reason);
        }

        var reasons = new List<string>();
        foreach (var terminate in decision.Terminate)
        {
            try
            {
                await compute.TerminateAsync(terminate.InstanceId, timeout.Token);
                reasons.Add($"{terminate.InstanceId}: {terminate.Reason}");
                LogTerminated(logger, terminate.InstanceId, terminate.Reason);
            }
            catch (Exception ex)
            {
                // One bad instance must not stop the sweep; it stays suspect, so the next sweep tries it again.
                LogTerminateFailed(logger, terminate.InstanceId, ex.Message);
            }
        }

        var failed = checks.Count(c => c.Failed);
        return new SweepReport(window.Visit.Count, reasons.Count, reasons, window.Live > window.Visit.Count, freed)
        {
            InstancesLive = window.Live,
            NewSuspects = decision.NewSuspects,
            Suspects = _state.Suspects.Count,
            ChecksFailed = failed,
        };
    }

    /// <summary>
    /// A lease's end reaches its organisation one way and is lost if a silo dies in between; the organisation would
    /// count the slot forever and its job would never get another VM. Each organisation checks its slots here, in
    /// bounded parallel batches with a timeout each rather than on its own reminder, because an organisation with no
    /// live lease arms no reminder, yet may still count a lost slot; batches keep a sweep's length bounded.
    /// </summary>
    private async Task<int> ReconcileOrganisationsAsync()
    {
        DirectoryPage directory;
        try
        {
            directory = await GrainFactory.Reference<IOrganisationDirectoryGrain>(IOrganisationDirectoryGrain.Key).List(null, 0, int.MaxValue);
        }
        catch (Exception ex)
        {
            LogSweepFailed(logger, ex.Message);
            return 0;
        }

        var freed = 0;
        var live = directory.Items.Where(e => e.Status != OrganisationStatus.Deleted).Select(e => e.InstallationId);
        foreach (var batch in live.Chunk(Math.Max(1, options.Value.OrganisationParallelism)))
        {
            freed += (await Task.WhenAll(batch.Select(ReconcileOrganisationAsync))).Sum();
        }

        return freed;
    }

    private async Task<int> ReconcileOrganisationAsync(long installationId)
    {
        try
        {
            return await GrainFactory.Reference<IOrganisationGrain>(installationId).Reconcile().WaitAsync(options.Value.OrganisationTimeout, time);
        }
        catch (Exception ex)
        {
            // One organisation's failure or slowness must not stop the others; the next sweep tries it again.
            LogOrganisationFailed(logger, installationId, ex.Message);
            return 0;
        }
    }

    private async Task<InstanceCheck> CheckAsync(InstanceSummary instance, DateTimeOffset now)
    {
        try
        {
            return new InstanceCheck(instance.InstanceId, await WhyTerminateAsync(instance, now));
        }
        catch (Exception ex)
        {
            // A lease that cannot answer decides nothing: its instance is left alone this sweep, and the sweep goes on.
            LogCheckFailed(logger, instance.InstanceId, ex.Message);
            return new InstanceCheck(instance.InstanceId, null, Failed: true);
        }
    }

    private async Task<string?> WhyTerminateAsync(InstanceSummary instance, DateTimeOffset now)
    {
        Guid? takenBy = null;
        if (instance.Tags.TryGetValue(InstanceTags.Pool, out var pool))
        {
            // A pool VM is its pool's until a lease takes it; from then on the lease's deadlines govern it, not its tag.
            var location = await GrainFactory.Reference<Pools.IPoolGrain>(pool).Locate(instance.InstanceId).WaitAsync(options.Value.LeaseCheckTimeout, time);
            if (location is { Owned: false, TakenBy: null })
            {
                return $"pool {pool} does not own it";
            }

            takenBy = location.TakenBy;
        }

        if (takenBy is null && instance.Tags.TryGetValue(InstanceTags.ExpiresAt, out var expiry)
            && DateTimeOffset.TryParse(expiry, CultureInfo.InvariantCulture, DateTimeStyles.RoundtripKind, out var expiresAt)
            && now > expiresAt + options.Value.Period)
        {
            return $"past its deadline {expiresAt:O}";
        }

        if (pool is not null && takenBy is null)
        {
            return null;
        }

        Guid leaseId;
        if (takenBy is { } taker)
        {
            leaseId = taker;
        }
        else if (!instance.Tags.TryGetValue(InstanceTags.Lease, out var leaseTag) || !Guid.TryParseExact(leaseTag, "N", out leaseId))
        {
            return "it carries this cluster's tag but no lease";
        }

        var lease = await GrainFactory.Reference<IVmLeaseGrain>(leaseId).GetView().WaitAsync(options.Value.LeaseCheckTimeout, time);
        return lease switch
        {
            null => $"lease {leaseId} does not exist",
            { Phase: var phase } when phase.IsFinal() => $"lease {leaseId} is {phase.ToWire()}",
            { InstanceId: { } own } when own != instance.InstanceId && lease.Phase >= LeasePhase.Booting => $"lease {leaseId} runs on {own}, not on this instance",
            _ => null,
        };
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Reconciler suspects {InstanceId} ({Reason}); it is terminated if the next sweep agrees")]
    private static partial void LogSuspect(ILogger logger, string instanceId, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Reconciler terminated {InstanceId}: {Reason}")]
    private static partial void LogTerminated(ILogger logger, string instanceId, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Reconciler could not terminate {InstanceId}: {Error}")]
    private static partial void LogTerminateFailed(ILogger logger, string instanceId, string error);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Reconciler could not check {InstanceId}'s lease; left alone this sweep: {Error}")]
    private static partial void LogCheckFailed(ILogger logger, string instanceId, string error);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Reconciler could not check installation {InstallationId}'s slots: {Error}")]
    private static partial void LogOrganisationFailed(ILogger logger, long installationId, string error);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Reconciliation sweep failed; the next one retries: {Error}")]
    private static partial void LogSweepFailed(ILogger logger, string error);
}
