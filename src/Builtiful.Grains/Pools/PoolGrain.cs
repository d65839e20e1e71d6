using Builtiful.Leases;
using Builtiful.Machines;
using Builtiful.Providers;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Builtiful.Pools;

/// <summary>
/// One warm pool. <see cref="PoolMachine"/> decides; this grain launches, hands out and terminates. A reminder (every
/// lease check period) and a one-shot timer at the next idle deadline both run <see cref="Tick"/>, so deadlines hold
/// when silos die; a take arms the timer at once so the pool refills right after it.
/// </summary>
public sealed partial class PoolGrain(
    [PersistentState("pool", StorageNames.Grains)] IPersistentState<PoolState> state,
    IComputeProvider compute,
    IOptions<PoolsOptions> pools,
    IOptions<LeaseOptions> leases,
    IOptions<ClaimOptions> claims,
    IClaimAddress claimAddress,
    MachineCatalogue catalogue,
    [FromKeyedServices(BuiltifulClock.Key)] TimeProvider time,
    ILogger<PoolGrain> logger) : Grain, IPoolGrain, IRemindable
{
    private const string Reminder = "pool";

    /// <summary>How soon a tick that left work undone (a failed launch or termination) tries again.</summary>
    private static readonly TimeSpan RetrySoon = TimeSpan.FromSeconds(1);

    /// <summary>VMs that have claimed (booted, polling) since this activation began: handed out first.</summary>
    private readonly HashSet<Guid> _ready = [];

    /// <summary>Claims waiting for a lease to take their VM.</summary>
    private readonly Dictionary<Guid, TaskCompletionSource<Guid>> _waiting = [];

    /// <summary>VMs a refused claim showed to be compromised: the next tick terminates them.</summary>
    private readonly Dictionary<Guid, string> _expel = [];

    private IGrainTimer? _timer;

    private string Name => this.GetPrimaryKeyString();

    private PoolSettings Settings => pools.Value.Named(Name)
        ?? throw new InvalidOperationException($"{PoolsOptions.Section}:{Name} is not configured on this silo.");

    private PoolState Pool => state.State;

    public override Task OnActivateAsync(CancellationToken cancellationToken)
    {
        if (pools.Value.Named(Name) is not null)
        {
            // An activation after a silo died catches up at once rather than at the next reminder.
            Arm(TimeSpan.Zero);
        }

        return Task.CompletedTask;
    }

    public async Task Start()
    {
        _ = Settings;
        var period = leases.Value.CheckPeriod;
        if (await this.GetReminder(Reminder) is null)
        {
            await this.RegisterOrUpdateReminder(Reminder, period, period);
        }

        await Tick();
    }

    public async Task ReceiveReminder(string reminderName, TickStatus status)
    {
        if (pools.Value.Named(Name) is null)
        {
            // The pool was removed from configuration: its VMs still go by their deadlines, then the reminder goes.
            if (Pool.Vms.Count == 0 && await this.GetReminder(Reminder) is { } reminder)
            {
                await this.UnregisterReminder(reminder);
            }

            return;
        }

        await Tick();
    }

    public async Task<PoolTake?> Take(Guid leaseId)
    {
        var now = time.GetUtcNow();
        var vm = Pool.Vms.FirstOrDefault(v => v.TakenBy == leaseId)
            ?? PoolMachine.Choose(Pool, _ready, PoolMachine.HandOutMargin(Settings.IdleLifetime), now);
        if (vm is null)
        {
            Pool.Misses++;
            await state.WriteStateAsync();
            Telemetry.BuiltifulMetrics.RecordPoolTake(Name, hit: false);
            Arm(TimeSpan.Zero);
            return null;
        }

        if (vm.TakenBy is null)
        {
            Replace(vm, vm = vm with { TakenBy = leaseId, TakenAt = now });
            Pool.Hits++;
            await state.WriteStateAsync();
            Telemetry.BuiltifulMetrics.RecordPoolTake(Name, hit: true);
            LogTaken(logger, Name, vm.InstanceId!, leaseId, _ready.Contains(vm.VmId));
            if (_waiting.Remove(vm.VmId, out var waiter))
            {
                waiter.TrySetResult(leaseId);
            }

            Arm(TimeSpan.Zero);
        }

        return new PoolTake { VmId = vm.VmId, InstanceId = vm.InstanceId!, LaunchedAt = vm.LaunchedAt ?? vm.RequestedAt, Ready = _ready.Contains(vm.VmId) };
    }

    public async Task<PoolClaimAnswer> Claim(Guid vmId, string instanceId, string token, TimeSpan wait)
    {
        var vm = Pool.Vms.FirstOrDefault(v => v.VmId == vmId);
        if (vm is null)
        {
            return new(PoolClaimOutcome.Unknown, $"pool {Name} has no VM {vmId:N}");
        }

        if (!ClaimTokens.MatchesPoolVm(claims.Value.KeyBytes(), vmId, token))
        {
            return new(PoolClaimOutcome.WrongToken, "the claim token is not this pool VM's");
        }

        if (vm.InstanceId is { } own && !string.Equals(own, instanceId, StringComparison.Ordinal))
        {
            _expel[vmId] = $"instance {instanceId} claimed with the token of pool VM {own}";
            Arm(TimeSpan.Zero);
            return new(PoolClaimOutcome.WrongInstance, "the token belongs to another instance's pool VM; that VM is being terminated");
        }

        if (vm.TakenBy is { } taken)
        {
            return new(PoolClaimOutcome.Taken, "taken", taken);
        }

        if (vm.Expiring || vm.InstanceId is null)
        {
            return vm.Expiring
                ? new(PoolClaimOutcome.Unknown, "the pool VM is past its idle deadline")
                : new(PoolClaimOutcome.Wait, "the pool does not know this VM's instance yet");
        }

        _ready.Add(vmId);
        if (!_waiting.TryGetValue(vmId, out var waiter))
        {
            _waiting[vmId] = waiter = new TaskCompletionSource<Guid>(TaskCreationOptions.RunContinuationsAsynchronously);
        }

        try
        {
            // A network hold, not a deadline: the wall clock bounds it whatever clock the pool's deadlines read.
            return new(PoolClaimOutcome.Taken, "taken", await waiter.Task.WaitAsync(wait));
        }
        catch (TimeoutException)
        {
            return new(PoolClaimOutcome.Wait, "no job has taken this VM yet; claim again");
        }
        catch (OperationCanceledException)
        {
            // The pool ended the VM while its claim was held.
            return new(PoolClaimOutcome.Unknown, "the pool VM is past its idle deadline or was removed from the pool");
        }
    }

    public Task<PoolLocation> Locate(string instanceId)
    {
        var vm = Pool.Vms.FirstOrDefault(v => string.Equals(v.InstanceId, instanceId, StringComparison.Ordinal));
        return Task.FromResult(vm is null ? new PoolLocation(false, null, null) : new PoolLocation(vm.TakenBy is null, vm.TakenBy, vm.IdleDeadline));
    }

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
        await state.WriteStateAsync();
        await Tick();
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

    private void Replace(PoolVm old, PoolVm updated) => Pool.Vms[Pool.Vms.IndexOf(old)] = updated;

    /// <summary>One-shot: the earlier of an armed timer and this one wins only by replacing it, so the latest call decides.</summary>
    private void Arm(TimeSpan due)
    {
        _timer?.Dispose();
        _timer = this.RegisterGrainTimer(
            async () =>
            {
                try
                {
                    await Tick();
                }
                catch (Exception ex)
                {
                    LogTickFailed(logger, Name, ex.Message);
                    Arm(RetrySoon);
                }
            },
            new GrainTimerCreationOptions(due < TimeSpan.Zero ? TimeSpan.Zero : due, Timeout.InfiniteTimeSpan) { KeepAlive = true });
    }

    private MachineType MachineType => catalogue.Match([Settings.MachineType]).MachineType
        ?? throw new InvalidOperationException($"{PoolsOptions.Section}:{Name}:MachineType {Settings.MachineType} is not in the machine catalogue.");
}
