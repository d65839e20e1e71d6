namespace Builtiful.Pools;

/// <summary>What operators see of the pool, and their runtime override of its bounds.</summary>
public sealed partial class PoolGrain
{
    public Task<PoolView> GetView() => Task.FromResult(View());

    public async Task<PoolSetAnswer> Set(int? minIdle, int? maxIdle)
    {
        var settings = Settings;
        var min = minIdle ?? Pool.MinIdleOverride ?? settings.MinIdle;
        var max = maxIdle ?? Pool.MaxIdleOverride ?? settings.MaxIdle;
        var error = minIdle < 0 ? $"minIdle is {minIdle}; use a whole number, at least 0"
            : maxIdle < 0 ? $"maxIdle is {maxIdle}; use a whole number, at least 0 (0 drains the pool)"
            : min > max ? $"minIdle {min} is more than maxIdle {max}; use a minIdle of at most maxIdle"
            : null;
        if (error is not null)
        {
            return new PoolSetAnswer(null, error);
        }

        Pool.MinIdleOverride = minIdle ?? Pool.MinIdleOverride;
        Pool.MaxIdleOverride = maxIdle ?? Pool.MaxIdleOverride;
        await SaveAsync();

        // A lowered MaxIdle ends the surplus now, whatever a running tick waits on. Launches, and another try at a
        // termination the cloud refused, are the next tick's: at once, or right after the running one.
        using var timeout = new CancellationTokenSource(leases.Value.CallTimeout, time);
        await ExpireDueAsync(everyExpiring: false, timeout.Token);
        RefillSoon();

        return new PoolSetAnswer(View(), null);
    }

    private PoolView View()
    {
        var settings = Settings;
        var now = time.GetUtcNow();
        var (effective, max) = PoolMachine.Bounds(settings, Pool, now);
        var vms = Pool.Vms.Select(v => new PoolVmView
        {
            VmId = v.VmId,
            InstanceId = v.InstanceId,
            Status = StatusOf(v),
            LaunchedAt = v.LaunchedAt,
            IdleDeadline = v.IdleDeadline,
            TakenBy = v.TakenBy,
        }).ToList();
        return new PoolView
        {
            Name = Name,
            MachineType = settings.MachineType,
            Target = settings.Target ?? compute.Name,
            MinIdle = Pool.MinIdleOverride ?? settings.MinIdle,
            MaxIdle = max,
            EffectiveMinIdle = effective,
            IdleLifetime = settings.IdleLifetime,
            Overridden = Pool.MinIdleOverride is not null || Pool.MaxIdleOverride is not null,
            Vms = vms,
            Hits = Pool.Hits,
            Misses = Pool.Misses,
            Launched = Pool.Launched,
            Expired = Pool.Expired,
            Idle = vms.Count(v => v.Status == "idle"),
            Booting = vms.Count(v => v.Status is "booting" or "launching"),
        };
    }

    private string StatusOf(PoolVm vm) =>
        vm.Expiring ? "expiring"
        : vm.TakenBy is not null ? "taken"
        : vm.InstanceId is null ? "launching"
        : _ready.Contains(vm.VmId) ? "idle"
        : "booting";
}
