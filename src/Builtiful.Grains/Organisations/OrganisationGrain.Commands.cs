using Builtiful.Jobs;
using Builtiful.Leases;
using Microsoft.Extensions.Logging;

namespace Builtiful.Organisations;

/// <summary>Runs the machine's decisions: the state is written first, then the commands, in order.</summary>
public sealed partial class OrganisationGrain
{
    private async Task<AdmissionDecision> ApplyAsync(AdmissionEvent @event)
    {
        var decision = Machine.Decide(Org, @event, Clock.GetUtcNow());
        await RunAsync(decision);
        return decision;
    }

    /// <summary>
    /// Written before any command: a lease is ordered only for a stored slot, and a stale duplicate activation fails on the
    /// storage's version check before it can order or release anything.
    /// </summary>
    private async Task RunAsync(AdmissionDecision decision)
    {
        if (decision.Changed)
        {
            await WriteAsync();
        }

        foreach (var command in decision.Commands)
        {
            await ExecuteAsync(command);
        }
    }

    private async Task ExecuteAsync(AdmissionCommand command)
    {
        switch (command)
        {
            case OrderLease order:
                if (order.Repair)
                {
                    LogRepaired(logger, InstallationId, order.LeaseId, order.Job.JobId);
                }

                // A failed request keeps the slot: the lease may have been stored all the same (its answer lost); if not,
                // the next tick, a redelivery or the organisation's next activation requests it again.
                await RequestLeaseAsync(order.LeaseId, order.MachineType, order.Job, order.Repair);
                LogLeaseOrdered(logger, InstallationId, order.LeaseId, order.Job.JobId, order.MachineType.Label);
                break;
            case ReleaseLease release:
                // One way: the lease talks to GitHub and the cloud in its own turns and reports back through LeaseEnded.
                await AfterOrderAsync(release.LeaseId);
                await Lease(release.LeaseId).OrderRelease(release.Reason);
                if (release.Surplus || release.Resend)
                {
                    LogReleaseSent(logger, InstallationId, release.LeaseId, release.Resend, release.Reason);
                }

                break;
            case TerminateLease terminate:
                LogTerminating(logger, InstallationId, terminate.LeaseId, terminate.Resend, terminate.Reason);
                await AfterOrderAsync(terminate.LeaseId);
                await Lease(terminate.LeaseId).OrderTermination(terminate.Reason);
                break;
            case RefuseJob refuse:
                LogDropped(logger, InstallationId, refuse.JobId, refuse.Code.ToWire(), refuse.Reason);
                await GrainFactory.Reference<IJobGrain>(refuse.JobId).Refused(refuse.Code, refuse.Reason);
                break;
            case FailProvisioning failed:
                await GrainFactory.Reference<IJobGrain>(failed.JobId).ProvisioningFailed(failed.Reason);
                break;
            case CheckRunnerPolicy check:
                // The job is mid-call into this grain; its view is a read that interleaves, so asking it back cannot deadlock.
                var job = await GrainFactory.Reference<IJobGrain>(check.JobId).GetView();
                await ApplyAsync(new RunnerRunning(check.LeaseId, check.JobId, job));
                break;
            case ReportVmGone gone:
                await ReportVmGoneAsync(gone);
                break;
            case UpdateDirectory:
                await GrainFactory.Reference<IOrganisationDirectoryGrain>(IOrganisationDirectoryGrain.Key)
                    .Register(new DirectoryEntry(InstallationId, Org.Login, Org.Status, Org.OperatorSuspension is not null));
                break;
            case Drive:
                await EnsureDrivingAsync();
                break;
            case StopDriving:
                await StopDrivingAsync();
                break;
            case CheckLeases:
                StartLeaseChecks();
                break;
            default:
                throw new ArgumentOutOfRangeException(nameof(command), command, "not an admission command");
        }
    }

    private IVmLeaseGrain Lease(Guid leaseId) => GrainFactory.Reference<IVmLeaseGrain>(leaseId);

    private async Task ReportVmGoneAsync(ReportVmGone gone)
    {
        LogVanished(logger, InstallationId, gone.LeaseId, gone.InstanceId, gone.Observed);
        try
        {
            await Lease(gone.LeaseId).VmGone(gone.InstanceId, gone.Observed);
        }
        catch (Exception ex)
        {
            // The next tick's check finds the lease Idle or Busy again and watches its VM once more.
            LogCheckFailed(logger, InstallationId, gone.LeaseId, ex.Message);
        }
    }

    /// <summary>
    /// The one-way "lease ended" notice is lost if a silo dies in between; before a job is made to wait, and on the
    /// reconciler's sweep, slots whose lease is over (or was never stored) are found by asking the leases themselves.
    /// </summary>
    private async Task<int> ForgetEndedLeasesAsync()
    {
        var ended = new List<GoneLease>();
        foreach (var leaseId in Org.Leases.Keys.ToList())
        {
            await AfterOrderAsync(leaseId);
            var lease = await Lease(leaseId).GetView();
            if (lease is null && Org.Leases.TryGetValue(leaseId, out var slot) && AdmissionMachine.IsAwaitingRunner(slot))
            {
                // Unknown is not gone: a lease's order rides its next write, so one that died after its launch is unknown
                // while its VM runs. The tick's check orders it again (a repair, which finds that VM); freeing the slot here
                // instead would race that repair and leave a live lease no slot checks.
                continue;
            }

            if (lease is null || lease.Phase.IsFinal())
            {
                ended.Add(await EndedAsync(leaseId, lease));
            }
        }

        if (ended.Count > 0)
        {
            await ApplyAsync(new LeasesGone(ended));
            LogForgotten(logger, InstallationId, ended.Count);
        }

        return ended.Count;
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Installation {InstallationId}: lease {LeaseId} of job {JobId} was never created; requesting it again")]
    private static partial void LogRepaired(ILogger logger, long installationId, Guid leaseId, long jobId);

    [LoggerMessage(Level = LogLevel.Information, Message = "Installation {InstallationId}: lease {LeaseId} ordered for job {JobId} on {MachineType}")]
    private static partial void LogLeaseOrdered(ILogger logger, long installationId, Guid leaseId, long jobId, string machineType);

    [LoggerMessage(Level = LogLevel.Information, Message = "Installation {InstallationId}: release of lease {LeaseId} sent (again: {Resend}): {Reason}")]
    private static partial void LogReleaseSent(ILogger logger, long installationId, Guid leaseId, bool resend, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Installation {InstallationId}: termination of lease {LeaseId} sent (again: {Resend}): {Reason}")]
    private static partial void LogTerminating(ILogger logger, long installationId, Guid leaseId, bool resend, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Installation {InstallationId}: job {JobId} gets no VM ({Code}): {Reason}")]
    private static partial void LogDropped(ILogger logger, long installationId, long jobId, string code, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Installation {InstallationId}: {Count} ended leases were still counted; their slots are free again")]
    private static partial void LogForgotten(ILogger logger, long installationId, int count);
}
