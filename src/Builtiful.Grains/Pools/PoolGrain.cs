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

    /// <summary>How long a tick waits for a taker's answer; one that does not answer in time is asked again next tick.</summary>
    private static readonly TimeSpan TakerCheckTimeout = TimeSpan.FromSeconds(3);

    /// <summary>VMs that have claimed (booted, polling) since this activation began: handed out first.</summary>
    private readonly HashSet<Guid> _ready = [];

    /// <summary>Claims waiting for a lease to take their VM.</summary>
    private readonly Dictionary<Guid, TaskCompletionSource<Guid>> _waiting = [];

    /// <summary>VMs a refused claim showed to be compromised: the next tick terminates them.</summary>
    private readonly Dictionary<Guid, string> _expel = [];

    /// <summary>The last write asked for; the next one starts after it (see <see cref="SaveAsync"/>).</summary>
    private Task _writes = Task.CompletedTask;

    private IGrainTimer? _timer;

    /// <summary>A tick is running, and a take asked for another right after it.</summary>
    private bool _ticking;
    private bool _again;

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

    public async Task Wake()
    {
        if (pools.Value.Named(Name) is not { } settings || (_expel.Count == 0 && PoolMachine.Plan(settings, Pool, time.GetUtcNow()).Expire.Count == 0))
        {
            return;
        }

        using var timeout = new CancellationTokenSource(leases.Value.CallTimeout, time);
        if (!await ExpireDueAsync(everyExpiring: false, timeout.Token))
        {
            Arm(RetrySoon);
        }
    }

    public async Task Start()
    {
        _ = Settings;

        // The tick runs on the pool's timer, never inside this interleaving call.
        Arm(TimeSpan.Zero);
        var period = leases.Value.CheckPeriod;
        if (await this.GetReminder(Reminder) is null)
        {
            await this.RegisterOrUpdateReminder(Reminder, period, period);
        }
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

        if (_ticking)
        {
            // The reminder is delivered even while the timer's tick waits on something slow: a second tick would race the
            // first over launches, so this one only ends what came due, as every silo's wake-up does.
            await Wake();
            return;
        }

        await Tick();
    }

    public async Task<PoolTake?> Take(Guid leaseId)
    {
        var now = time.GetUtcNow();
        var vm = Pool.Vms.FirstOrDefault(v => v.TakenBy == leaseId)
            ?? PoolMachine.Choose(Pool, _ready, PoolMachine.HandOutMargin(Settings.IdleLifetime), leases.Value.BootDeadline, now);
        if (vm is null)
        {
            // A miss is only a counter: it is stored with the pool's next write, never one write per job.
            Pool.Misses++;
            Telemetry.BuiltifulMetrics.RecordPoolTake(Name, hit: false);
            RefillSoon();
            return null;
        }

        if (vm.TakenBy is null)
        {
            Replace(vm, vm = vm with { TakenBy = leaseId, TakenAt = now });
            Pool.Hits++;
            await SaveAsync();
            Telemetry.BuiltifulMetrics.RecordPoolTake(Name, hit: true);
            LogTaken(logger, Name, vm.InstanceId!, leaseId, _ready.Contains(vm.VmId));
            if (_waiting.Remove(vm.VmId, out var waiter))
            {
                waiter.TrySetResult(leaseId);
            }

            RefillSoon();
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

    /// <summary>By id: a take may have changed the record since the caller read it (takes interleave with a tick's cloud calls).</summary>
    private void Replace(PoolVm old, PoolVm updated)
    {
        var index = Pool.Vms.FindIndex(v => v.VmId == old.VmId);
        if (index >= 0)
        {
            Pool.Vms[index] = updated;
        }
    }

    private void Remove(Guid vmId) => Pool.Vms.RemoveAll(v => v.VmId == vmId);

    /// <summary>One write at a time: interleaved takes and a tick's steps must not race on the stored record's ETag.</summary>
    private Task SaveAsync() => _writes = _writes.ContinueWith(_ => state.WriteStateAsync(), CancellationToken.None, TaskContinuationOptions.None, TaskScheduler.Current).Unwrap();

    /// <summary>Refill soon: at once when no tick runs, else right after the running one.</summary>
    private void RefillSoon()
    {
        _again = true;
        if (!_ticking)
        {
            Arm(TimeSpan.Zero);
        }
    }

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
