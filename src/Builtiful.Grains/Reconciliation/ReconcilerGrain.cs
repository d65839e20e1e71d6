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
/// lease within its deadline, or it is terminated. Each organisation's reminder drives its leases' deadlines; this
/// catches what that cannot (a lease whose state was lost, a launch whose answer never came, a silo that died between
/// two writes).
/// </summary>
public sealed partial class ReconcilerGrain(
    IComputeProvider compute,
    IOptions<ReconcilerOptions> options,
    IOptions<LeaseOptions> leases,
    [FromKeyedServices(BuiltifulClock.Key)] TimeProvider time,
    ILogger<ReconcilerGrain> logger) : Grain, IReconcilerGrain, IRemindable
{
    private const string Reminder = "sweep";

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
        using var timeout = new CancellationTokenSource(options.Value.Period);
        var instances = await compute.ListByTagAsync(InstanceTags.Cluster, leases.Value.ClusterName, timeout.Token);
        var live = instances.Where(i => i.State is not (InstanceState.Terminated or InstanceState.NotFound)).ToList();
        var truncated = live.Count > options.Value.MaxInstancesPerSweep;
        var reasons = new List<string>();
        var now = time.GetUtcNow();
        foreach (var instance in live.Take(options.Value.MaxInstancesPerSweep))
        {
            var reason = await WhyTerminateAsync(instance, now);
            if (reason is null)
            {
                continue;
            }

            try
            {
                await compute.TerminateAsync(instance.InstanceId, timeout.Token);
                reasons.Add($"{instance.InstanceId}: {reason}");
                LogTerminated(logger, instance.InstanceId, reason);
            }
            catch (Exception ex)
            {
                // One bad instance must not stop the sweep; the next sweep tries it again.
                LogTerminateFailed(logger, instance.InstanceId, ex.Message);
            }
        }

        return new SweepReport(live.Count, reasons.Count, reasons, truncated, freed);
    }

    /// <summary>
    /// A lease's end reaches its organisation one way and is lost if a silo dies in between; the organisation would
    /// count the slot forever and its job would never get another VM. Each organisation checks its slots here.
    /// </summary>
    private async Task<int> ReconcileOrganisationsAsync()
    {
        DirectoryPage directory;
        try
        {
            directory = await GrainFactory.GetGrain<IOrganisationDirectoryGrain>(IOrganisationDirectoryGrain.Key).List(null, 0, int.MaxValue);
        }
        catch (Exception ex)
        {
            LogSweepFailed(logger, ex.Message);
            return 0;
        }

        var freed = 0;
        foreach (var entry in directory.Items.Where(e => e.Status != OrganisationStatus.Deleted))
        {
            try
            {
                freed += await GrainFactory.GetGrain<IOrganisationGrain>(entry.InstallationId).Reconcile();
            }
            catch (Exception ex)
            {
                // One organisation's failure must not stop the others; the next sweep tries it again.
                LogOrganisationFailed(logger, entry.InstallationId, ex.Message);
            }
        }

        return freed;
    }

    private async Task<string?> WhyTerminateAsync(InstanceSummary instance, DateTimeOffset now)
    {
        if (instance.Tags.TryGetValue(InstanceTags.ExpiresAt, out var expiry)
            && DateTimeOffset.TryParse(expiry, CultureInfo.InvariantCulture, DateTimeStyles.RoundtripKind, out var expiresAt)
            && now > expiresAt + options.Value.Period)
        {
            return $"past its deadline {expiresAt:O}";
        }

        if (!instance.Tags.TryGetValue(InstanceTags.Lease, out var leaseTag) || !Guid.TryParseExact(leaseTag, "N", out var leaseId))
        {
            return "it carries this cluster's tag but no lease";
        }

        var lease = await GrainFactory.GetGrain<IVmLeaseGrain>(leaseId).GetView();
        return lease switch
        {
            null => $"lease {leaseId} does not exist",
            { Phase: var phase } when phase.IsFinal() => $"lease {leaseId} is {phase.ToWire()}",
            { InstanceId: { } own } when own != instance.InstanceId && lease.Phase >= LeasePhase.Booting => $"lease {leaseId} runs on {own}, not on this instance",
            _ => null,
        };
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Reconciler terminated {InstanceId}: {Reason}")]
    private static partial void LogTerminated(ILogger logger, string instanceId, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Reconciler could not terminate {InstanceId}: {Error}")]
    private static partial void LogTerminateFailed(ILogger logger, string instanceId, string error);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Reconciler could not check installation {InstallationId}'s slots: {Error}")]
    private static partial void LogOrganisationFailed(ILogger logger, long installationId, string error);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Reconciliation sweep failed; the next one retries: {Error}")]
    private static partial void LogSweepFailed(ILogger logger, string error);
}
