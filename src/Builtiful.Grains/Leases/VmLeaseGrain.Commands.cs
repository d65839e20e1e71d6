using System.Globalization;
using Builtiful.Organisations;
using Builtiful.Providers;
using Microsoft.Extensions.Logging;

namespace Builtiful.Leases;

/// <summary>The lease's I/O: each command of <see cref="LeaseMachine"/> runs here and its outcome returns as the next event.</summary>
public sealed partial class VmLeaseGrain
{
    private async Task<LeaseEvent?> ExecuteAsync(LeaseCommand command)
    {
        switch (command)
        {
            case JoinRetention join:
                await GrainFactory.Reference<Retention.IRetentionHourGrain>(Retention.RetentionKeys.Current(join.InstallationId, join.At)).AddLease(LeaseId);
                return new RetentionJoined(LeaseId, join.Order, join.At);
            case ScheduleLaunch launch:
                ScheduleLaunch(launch.Delay);
                return null;
            case CancelLaunch:
                DropScheduledLaunch();
                return null;
            case LaunchVm launch:
                return await LaunchAsync(launch);
            case TakeFromPool:
                return await TakeFromPoolAsync();
            case MintRunnerConfig:
                return await MintAsync();
            case TerminateStrays strays:
                await TerminateStraysAsync(strays.Keep);
                return null;
            case DescribeVm describe:
                return await DescribeAsync(describe.InstanceId);
            case RemoveRunner removal:
                return await RemoveRunnerAsync(removal);
            case TerminateVm terminate:
                return await TerminateAsync(terminate.InstanceId);
            case CleanUpLaunches:
                return await CleanUpAsync();
            case StartTerminationPoll:
                ArmTerminationPoll();
                return null;
            case StopTerminationPoll:
                _terminationTimer?.Dispose();
                _terminationTimer = null;
                return null;
            case AppendHistory history:
                await GrainFactory.Reference<ILeaseHistoryGrain>(ILeaseHistoryGrain.Key).Ended(new EndedLease(LeaseId, history.InstallationId, history.Phase, history.EndedAt));
                return null;
            case ReportEnded { Awaited: true } ended:
                await GrainFactory.Reference<IOrganisationGrain>(ended.InstallationId).LeaseEnded(LeaseId);
                return null;
            case ReportEnded ended:
                GrainFactory.Reference<IOrganisationGrain>(ended.InstallationId).LeaseEnded(LeaseId).Ignore();
                return null;
            case ReportWaiting waiting:
                GrainFactory.Reference<Jobs.IJobGrain>(waiting.JobId).LaunchWaiting(waiting.Reason).Ignore();
                return null;
            case Deactivate:
                DeactivateOnIdle();
                return null;
            default:
                throw new ArgumentOutOfRangeException(nameof(command), command, "Unknown lease command.");
        }
    }

    private async Task<LeaseEvent> LaunchAsync(LaunchVm launch)
    {
        var attempt = launch.Attempt;
        try
        {
            using var timeout = CallTimeout();
            if (launch.LookForEarlier && await EarlierLaunchAsync(timeout.Token) is { } earlier)
            {
                // That VM carries this lease's runner and may already run a job: keep it rather than launch another.
                LogAdopted(logger, LeaseId, earlier.InstanceId, attempt);
                return new LaunchSucceeded(attempt, earlier.InstanceId, null, Adopted: true);
            }

            var launched = await compute.LaunchAsync(new LaunchRequest
            {
                LeaseId = LeaseId,
                InstallationId = Lease.InstallationId,
                JobId = Lease.LaunchedForJobId,
                MachineType = Lease.MachineType!,
                ClientToken = $"{LeaseId:N}-{attempt}",
                Claim = Ticket(attempt, await claimAddress.WhenKnownAsync(timeout.Token)),
                ExpiresAt = Lease.ExpiresAt,
                Tags = new Dictionary<string, string>
                {
                    [InstanceTags.Lease] = LeaseId.ToString("N"),
                    [InstanceTags.Installation] = Lease.InstallationId.ToString(CultureInfo.InvariantCulture),
                    [InstanceTags.Job] = Lease.LaunchedForJobId.ToString(CultureInfo.InvariantCulture),
                    [InstanceTags.ExpiresAt] = Lease.ExpiresAt.ToString("O"),
                    [InstanceTags.Cluster] = compute.ClusterName,
                },
            }, timeout.Token);

            LogLaunched(logger, LeaseId, launched.InstanceId, Lease.MachineType!.Label, attempt);
            Telemetry.BuiltifulMetrics.RecordLaunch(Lease.MachineType.Label, Lease.RequestedAt, time.GetUtcNow());
            return new LaunchSucceeded(attempt, launched.InstanceId, launched.LaunchedAt, Adopted: false);
        }
        catch (Exception ex)
        {
            LogLaunchFailed(logger, LeaseId, attempt, ex.Message);
            Telemetry.BuiltifulMetrics.RecordLaunchFailure(ex, Lease.MachineType?.Label);
            return new LaunchFailed(attempt, ex.Message, ex is IProviderFailure { IsPermanent: true });
        }
    }

    /// <summary>A pool that cannot answer is a miss: the lease launches its own VM rather than wait.</summary>
    /// <summary>
    /// What this attempt's VM claims its runner config with after boot: the config itself is minted only then, once the
    /// launch is under way. The token derives from the attempt, so a resent launch carries identical parameters.
    /// </summary>
    private ClaimTicket Ticket(int attempt, Uri? claimUrl) => new(
        claimUrl ?? throw new InvalidOperationException($"{ClaimOptions.Section}:Url is not set: a VM would not know where to claim its runner config."),
        ClaimTokens.For(claims.Value.KeyBytes(), LeaseId, attempt));

    private async Task<InstanceSummary?> EarlierLaunchAsync(CancellationToken cancellationToken)
    {
        var tagged = await compute.ListByTagAsync(InstanceTags.Lease, LeaseId.ToString("N"), cancellationToken);
        return tagged.Where(i => i.State is InstanceState.Pending or InstanceState.Running)
            .OrderBy(i => i.State == InstanceState.Running ? 0 : 1)
            .FirstOrDefault();
    }

    /// <summary>A failure here is not a failed launch; the reconciler's sweep finds any stray this misses.</summary>
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

    private async Task<LeaseEvent> DescribeAsync(string instanceId)
    {
        try
        {
            using var timeout = CallTimeout();
            return new VmObserved(await compute.DescribeAsync(instanceId, timeout.Token));
        }
        catch (Exception ex)
        {
            return new DescribeFailed(ex.Message);
        }
    }

    private async Task<LeaseEvent> RemoveRunnerAsync(RemoveRunner removal)
    {
        try
        {
            using var timeout = CallTimeout();
            var removed = await runners.RemoveAsync(Registration(), timeout.Token);
            if (removed == RunnerRemoval.Busy && removal.Purpose == RunnerRemovalPurpose.Release)
            {
                LogKeptBusy(logger, LeaseId);
            }

            return new RunnerRemoved(removed, removal.Reason, removal.Purpose);
        }
        catch (Exception ex)
        {
            LogReleaseDeferred(logger, LeaseId, ex.Message);
            return new RunnerRemovalFailed(ex.Message, ex is IProviderFailure { IsPermanent: true }, removal.Reason, removal.Purpose);
        }
    }

    /// <summary>Asks every VM of the lease to go and reports whether the provider says all are gone.</summary>
    private async Task<LeaseEvent> TerminateAsync(string? instanceId)
    {
        try
        {
            using var timeout = CallTimeout();
            var gone = true;
            foreach (var id in await InstancesOfLeaseAsync(instanceId, timeout.Token))
            {
                var current = await compute.DescribeAsync(id, timeout.Token);
                if (current is InstanceState.Terminated or InstanceState.NotFound)
                {
                    continue;
                }

                // A stopped VM reads as shutting down too: only a termination this activation asked for lets a poll skip asking again.
                if (current != InstanceState.ShuttingDown || _terminationRequested?.Contains(id) != true)
                {
                    await compute.TerminateAsync(id, timeout.Token);
                    (_terminationRequested ??= new(StringComparer.Ordinal)).Add(id);
                    current = await compute.DescribeAsync(id, timeout.Token);
                }

                gone &= current is InstanceState.Terminated or InstanceState.NotFound;
            }

            return new TerminationObserved(gone);
        }
        catch (Exception ex)
        {
            LogTerminationFailed(logger, LeaseId, Lease.TerminationAttempts, ex.Message);
            return new TerminationFailed(ex.Message);
        }
    }

    private async Task<LeaseEvent> CleanUpAsync()
    {
        try
        {
            using var timeout = CallTimeout();
            foreach (var id in await InstancesOfLeaseAsync(Lease.InstanceId, timeout.Token))
            {
                await compute.TerminateAsync(id, timeout.Token);
            }

            return new CleanupDone();
        }
        catch (Exception ex)
        {
            return new CleanupFailed(ex.Message);
        }
    }

    private async Task<IReadOnlyList<string>> InstancesOfLeaseAsync(string? known, CancellationToken cancellationToken)
    {
        if (known is not null)
        {
            return [known];
        }

        if (Lease.LaunchAttempts == 0 || _firstAttemptFresh)
        {
            // No launch was ever sent: no VM can exist.
            return [];
        }

        // A launch whose answer was lost may still have made a VM: the lease tag finds it.
        var tagged = await compute.ListByTagAsync(InstanceTags.Lease, LeaseId.ToString("N"), cancellationToken);
        return [.. tagged.Select(i => i.InstanceId)];
    }

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

    [LoggerMessage(Level = LogLevel.Warning, Message = "Lease {LeaseId}: terminating stray instance {InstanceId} left by an earlier launch attempt")]
    private static partial void LogStray(ILogger logger, Guid leaseId, string instanceId);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Lease {LeaseId}: its VM {InstanceId} is gone ({State}) though no termination was asked for; the lease ends")]
    private static partial void LogVmGone(ILogger logger, Guid leaseId, string instanceId, InstanceState state);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Lease {LeaseId}: release deferred, runner deregistration failed: {Error}")]
    private static partial void LogReleaseDeferred(ILogger logger, Guid leaseId, string error);
}
