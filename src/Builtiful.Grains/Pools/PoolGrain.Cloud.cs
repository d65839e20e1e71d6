using System.Globalization;
using Builtiful.Leases;
using Builtiful.Providers;
using Microsoft.Extensions.Logging;
using Orleans.Storage;

namespace Builtiful.Pools;

/// <summary>The pool's tick: learn what the cloud and the takers say, expire, refill; each step's failure is retried soon.</summary>
public sealed partial class PoolGrain
{
    private async Task Tick()
    {
        _ticking = true;
        _again = false;
        try
        {
            await TickAsync();
        }
        finally
        {
            _ticking = false;
        }

        if (_again)
        {
            Arm(TimeSpan.Zero);
        }
    }

    private async Task TickAsync()
    {
        var settings = Settings;
        using var timeout = new CancellationTokenSource(leases.Value.CallTimeout, time);

        // Deadlines first: nothing the cloud or a lease is slow to answer below may delay the end of an idle VM.
        var retry = !await ExpireDueAsync(everyExpiring: true, timeout.Token);
        try
        {
            await ForgetGoneAsync(timeout.Token);
            await FollowTakersAsync();
        }
        catch (Exception ex)
        {
            // What the cloud or a lease could not answer now is asked again soon; deadlines and refills go on regardless.
            LogTickFailed(logger, Name, ex.Message);
            retry = true;
        }

        // VMs whose takers turned out not to run on them, and any that came due while the cloud and the leases answered.
        retry |= !await ExpireDueAsync(everyExpiring: false, timeout.Token);

        var now = time.GetUtcNow();
        var plan = PoolMachine.Plan(settings, Pool, now);

        // A silo that does not know its claim URL yet (the embedded host learns it once its server listens) launches nothing yet.
        var launchable = claimAddress.Current is null ? 0 : plan.Launch;
        retry |= launchable < plan.Launch;
        var launches = Enumerable.Range(0, launchable)
            .Select(_ => new PoolVm { VmId = Guid.NewGuid(), IdleDeadline = now + settings.IdleLifetime, RequestedAt = now })
            .ToList();
        Pool.Vms.AddRange(launches);

        // Written before any launch: a VM the cloud makes is always one the pool's state knows. A write that fails (the
        // database restarting, a stale activation) stops the launches, never the terminations above: ending an idle VM is
        // always safe, and a pool that cannot write must still hold its deadlines.
        var saved = true;
        try
        {
            await SaveAsync();
        }
        catch (Exception ex)
        {
            saved = false;
            retry = true;
            LogTickFailed(logger, Name, ex.Message);
            foreach (var vm in launches)
            {
                Remove(vm.VmId);
            }

            if (ex is InconsistentStateException)
            {
                // Another activation wrote since this one read: the next activation reads the stored record afresh.
                this.DeactivateOnIdle();
            }
        }

        if (!saved)
        {
            Arm(RetrySoon);
            return;
        }

        retry |= (await Task.WhenAll(launches.Select(vm => LaunchAsync(vm, timeout.Token)))).Any(ok => !ok);

        await SaveAsync();
        Telemetry.BuiltifulMetrics.RecordPoolIdle(Name, Pool.Vms.Count(v => v.Available && v.InstanceId is not null));
        now = time.GetUtcNow();
        var due = PoolMachine.NextDue(settings, Pool, now) is { } next && next - now < leases.Value.CheckPeriod ? next - now : leases.Value.CheckPeriod;
        Arm(retry || Pool.Vms.Any(v => v.Expiring) ? TimeSpan.FromTicks(Math.Min(due.Ticks, RetrySoon.Ticks)) : due);
    }

    /// <summary>Drops VMs the cloud confirms gone, and finds by its tag a VM whose launch answer was lost.</summary>
    private async Task ForgetGoneAsync(CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow();
        var known = Pool.Vms.Where(v => v.InstanceId is not null).Select(v => v.InstanceId!).ToList();
        var states = known.Count == 0 ? new Dictionary<string, InstanceState>() : await compute.DescribeManyAsync(known, cancellationToken);
        foreach (var vm in Pool.Vms.ToList())
        {
            if (vm.InstanceId is null)
            {
                if (now - vm.RequestedAt < leases.Value.CallTimeout)
                {
                    continue;
                }

                // A launch whose answer was lost: its tag finds the VM (or shows none was made).
                var tagged = await compute.ListByTagAsync(InstanceTags.PoolVm, vm.VmId.ToString("N"), cancellationToken);
                var live = tagged.FirstOrDefault(i => i.State is InstanceState.Pending or InstanceState.Running);
                if (live is null && tagged.All(i => i.State is InstanceState.Terminated or InstanceState.NotFound))
                {
                    Remove(vm.VmId);
                }
                else if (live is not null)
                {
                    Replace(vm, vm with { InstanceId = live.InstanceId, LaunchedAt = vm.RequestedAt });
                }
                continue;
            }

            var observed = states.GetValueOrDefault(vm.InstanceId, InstanceState.NotFound);
            // A VM just launched may not be visible yet (EC2 is eventually consistent); a terminated one is gone for sure.
            var gone = observed == InstanceState.Terminated
                || (observed == InstanceState.NotFound && (vm.Expiring || vm.Adopted || now - (vm.LaunchedAt ?? vm.RequestedAt) > TimeSpan.FromMinutes(2)));
            if (gone)
            {
                Remove(vm.VmId);
                _ready.Remove(vm.VmId);
            }
        }

        // No write here: the tick's own write carries what changed, after the terminations, which never wait on the database.
    }

    /// <summary>
    /// A taken VM is the taker's once the lease runs on it; a taker that ended or runs elsewhere leaves it to the pool to
    /// end. The takers are asked at once, each for at most a lease check: one on a dying silo must not hold up the rest.
    /// </summary>
    private async Task FollowTakersAsync()
    {
        var taken = Pool.Vms.Where(v => v.TakenBy is not null && !v.Adopted && !v.Expiring).ToList();
        var views = await Task.WhenAll(taken.Select(async vm =>
        {
            try
            {
                return (Vm: vm, Known: true, Lease: await GrainFactory.Reference<IVmLeaseGrain>(vm.TakenBy!.Value).GetView().WaitAsync(TakerCheckTimeout, time));
            }
            catch (Exception ex) when (ex is TimeoutException or OrleansException)
            {
                LogTakerUnanswered(logger, Name, vm.InstanceId ?? vm.VmId.ToString("N"), vm.TakenBy!.Value, ex.Message);
                return (Vm: vm, Known: false, Lease: (LeaseView?)null);
            }
        }));
        foreach (var (vm, known, lease) in views.Where(v => v.Known))
        {
            if (lease is { StoredInstanceId: { } own } && own == vm.InstanceId)
            {
                // Stored, not merely decided: a take whose write was refused is not the lease's, and its next activation
                // launches a VM of its own (a restarted attempt never asks the pool again), so adopting it on what the
                // activation decided would leave this VM to nobody.
                Replace(vm, vm with { Adopted = true });
            }
            else if (lease is null || lease.Phase.IsFinal() || (lease.InstanceId is { } elsewhere && elsewhere != vm.InstanceId))
            {
                _expel[vm.VmId] = $"lease {vm.TakenBy:N} that took it does not run on it";
            }
        }
    }

    private async Task<bool> TerminateAsync(PoolVm vm, CancellationToken cancellationToken)
    {
        try
        {
            var ids = vm.InstanceId is { } id
                ? [id]
                : (await compute.ListByTagAsync(InstanceTags.PoolVm, vm.VmId.ToString("N"), cancellationToken)).Select(i => i.InstanceId).ToList();
            foreach (var instance in ids)
            {
                await compute.TerminateAsync(instance, cancellationToken);
            }

            if (ids.Count == 0 && time.GetUtcNow() - vm.RequestedAt >= leases.Value.CallTimeout)
            {
                Remove(vm.VmId);
            }

            return true;
        }
        catch (Exception ex)
        {
            LogTerminateFailed(logger, Name, vm.InstanceId ?? vm.VmId.ToString("N"), ex.Message);
            return false;
        }
    }

    private async Task<bool> LaunchAsync(PoolVm vm, CancellationToken cancellationToken)
    {
        try
        {
            var launched = await compute.LaunchAsync(new LaunchRequest
            {
                LeaseId = vm.VmId,
                InstallationId = 0,
                JobId = 0,
                MachineType = MachineType,
                ClientToken = $"pool-{vm.VmId:N}",
                Claim = new ClaimTicket(
                    claimAddress.Current ?? throw new InvalidOperationException($"{ClaimOptions.Section}:Url is not set: a pool VM would not know where to claim."),
                    ClaimTokens.ForPoolVm(claims.Value.KeyBytes(), vm.VmId),
                    Name),
                ExpiresAt = vm.IdleDeadline,
                Tags = new Dictionary<string, string>
                {
                    [InstanceTags.Pool] = Name,
                    [InstanceTags.PoolVm] = vm.VmId.ToString("N"),
                    [InstanceTags.ExpiresAt] = vm.IdleDeadline.ToString("O", CultureInfo.InvariantCulture),
                    [InstanceTags.Cluster] = compute.ClusterName,
                },
            }, cancellationToken);
            if (Pool.Vms.FirstOrDefault(v => v.VmId == vm.VmId) is { } current)
            {
                Replace(current, current with { InstanceId = launched.InstanceId, LaunchedAt = launched.LaunchedAt });
            }

            Pool.Launched++;
            LogLaunched(logger, Name, launched.InstanceId, vm.IdleDeadline);
            return true;
        }
        catch (Exception ex)
        {
            LogLaunchFailed(logger, Name, ex.Message);
            await ForgetUnlaunchedAsync(vm, cancellationToken);
            return false;
        }
    }

    /// <summary>
    /// A failed launch whose VM no tag shows made nothing: its record goes, so the pool launches a successor at once. A VM
    /// that shows up later all the same (a lost answer) is one no pool owns, and the reconciler ends it.
    /// </summary>
    private async Task ForgetUnlaunchedAsync(PoolVm vm, CancellationToken cancellationToken)
    {
        try
        {
            var tagged = await compute.ListByTagAsync(InstanceTags.PoolVm, vm.VmId.ToString("N"), cancellationToken);
            if (tagged.FirstOrDefault(i => i.State is InstanceState.Pending or InstanceState.Running) is { } live)
            {
                Replace(vm, vm with { InstanceId = live.InstanceId, LaunchedAt = vm.RequestedAt });
                Pool.Launched++;
            }
            else
            {
                Remove(vm.VmId);
            }
        }
        catch (Exception ex)
        {
            // Unknown: the record stays, and a later tick finds the VM by its tag or forgets it.
            LogLaunchFailed(logger, Name, ex.Message);
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Pool {Pool}: launched {InstanceId}, idle until {IdleDeadline:O}")]
    private static partial void LogLaunched(ILogger logger, string pool, string instanceId, DateTimeOffset idleDeadline);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Pool {Pool}: a launch failed: {Error}")]
    private static partial void LogLaunchFailed(ILogger logger, string pool, string error);

    [LoggerMessage(Level = LogLevel.Information, Message = "Pool {Pool}: {InstanceId} taken by lease {LeaseId} (ready: {Ready})")]
    private static partial void LogTaken(ILogger logger, string pool, string instanceId, Guid leaseId, bool ready);

    [LoggerMessage(Level = LogLevel.Information, Message = "Pool {Pool}: terminating {Vm}: {Reason}")]
    private static partial void LogExpiring(ILogger logger, string pool, string vm, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Pool {Pool}: could not terminate {Vm}; retried soon: {Error}")]
    private static partial void LogTerminateFailed(ILogger logger, string pool, string vm, string error);

    [LoggerMessage(Level = LogLevel.Information, Message = "Pool {Pool}: the lease {LeaseId} that took {Vm} did not answer; asked again next tick: {Error}")]
    private static partial void LogTakerUnanswered(ILogger logger, string pool, string vm, Guid leaseId, string error);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Pool {Pool}: a tick failed; retried soon: {Error}")]
    private static partial void LogTickFailed(ILogger logger, string pool, string error);
}
