namespace Builtiful.Pools;

/// <summary>What a pool does on a tick: VMs to terminate (with why) and how many to launch.</summary>
public sealed record PoolPlan(IReadOnlyList<(Guid VmId, string Reason)> Expire, int Launch);

/// <summary>
/// A pool's decisions without I/O: how many VMs to launch, which to expire, which to hand out. Idle VMs stay between
/// MinIdle (schedule-aware) and MaxIdle; a VM is handed out only while enough of its idle life is left for it to claim
/// its config and adopt the lease's deadline before its own watchdog fires, and is terminated once it is not.
/// </summary>
public static class PoolMachine
{
    /// <summary>How much idle life a VM must have left to be handed out: a quarter of its lifetime, at most two minutes.</summary>
    public static TimeSpan HandOutMargin(TimeSpan idleLifetime) =>
        idleLifetime / 4 < TimeSpan.FromMinutes(2) ? idleLifetime / 4 : TimeSpan.FromMinutes(2);

    public static (int MinIdle, int MaxIdle) Bounds(PoolSettings settings, PoolState state, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(settings);
        ArgumentNullException.ThrowIfNull(state);
        var max = state.MaxIdleOverride ?? settings.MaxIdle;
        var min = state.MinIdleOverride ?? settings.MinIdle;
        // An operator's override of MinIdle holds all week; otherwise the schedule decides.
        var effective = state.MinIdleOverride is null ? settings.MinIdleAt(now, min) : min;
        return (Math.Min(effective, max), max);
    }

    /// <summary>Counts toward the pool: neither taken nor expiring, and with enough idle life left to be handed out.</summary>
    public static bool Usable(PoolVm vm, TimeSpan margin, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(vm);
        return vm.Available && vm.IdleDeadline - margin > now;
    }

    public static PoolPlan Plan(PoolSettings settings, PoolState state, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(settings);
        ArgumentNullException.ThrowIfNull(state);
        var (min, max) = Bounds(settings, state, now);
        var margin = HandOutMargin(settings.IdleLifetime);
        var expire = new List<(Guid, string)>();
        // A VM too close to its deadline to be handed out serves nobody: it goes now, which also leaves the margin as slack
        // for a pool whose silo died to reach it before its deadline.
        foreach (var vm in state.Vms.Where(v => v.Available && v.IdleDeadline - margin <= now))
        {
            expire.Add((vm.VmId, vm.IdleDeadline <= now ? $"idle deadline {vm.IdleDeadline:O} passed" : $"too close to its idle deadline {vm.IdleDeadline:O} to be handed out"));
        }

        // Beyond MaxIdle (an operator lowered it): the VMs with the least idle life left go first.
        var usable = state.Vms.Where(v => Usable(v, margin, now)).OrderBy(v => v.IdleDeadline).ToList();
        var surplus = usable.Count - max;
        foreach (var vm in usable.Take(Math.Max(0, surplus)))
        {
            expire.Add((vm.VmId, $"the pool keeps at most {max} idle VMs"));
        }

        var kept = Math.Min(usable.Count, max);
        return new PoolPlan(expire, Math.Max(0, min - kept));
    }

    /// <summary>
    /// The VM to hand to a lease: ready (booted, claiming) first, then booting; among them the one with the least idle life
    /// left. A VM not seen claiming is handed out only within <paramref name="bootGrace"/> of its launch, while it may
    /// still be booting: one older than that cannot claim (its gateway died, its runner image broke), and a lease that
    /// took it would only wait out its boot deadline and launch anew.
    /// </summary>
    public static PoolVm? Choose(PoolState state, IReadOnlySet<Guid> ready, TimeSpan margin, TimeSpan bootGrace, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(state);
        ArgumentNullException.ThrowIfNull(ready);
        return state.Vms
            .Where(v => v.InstanceId is not null && Usable(v, margin, now)
                && (ready.Contains(v.VmId) || now - (v.LaunchedAt ?? v.RequestedAt) < bootGrace))
            .OrderBy(v => ready.Contains(v.VmId) ? 0 : 1)
            .ThenBy(v => v.IdleDeadline)
            .FirstOrDefault();
    }

    /// <summary>When the pool must look again: the next idle VM's hand-out margin, when it goes and a successor boots.</summary>
    public static DateTimeOffset? NextDue(PoolSettings settings, PoolState state, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(settings);
        ArgumentNullException.ThrowIfNull(state);
        var margin = HandOutMargin(settings.IdleLifetime);
        DateTimeOffset? next = null;
        foreach (var vm in state.Vms.Where(v => v.Available))
        {
            var at = vm.IdleDeadline - margin;
            if (at > now && (next is null || at < next))
            {
                next = at;
            }
        }

        return next;
    }
}
