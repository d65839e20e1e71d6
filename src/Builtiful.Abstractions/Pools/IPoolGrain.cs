using Orleans.Concurrency;

namespace Builtiful.Pools;

/// <summary>
/// One warm pool (key: its configured name, <c>Pools:&lt;name&gt;</c>): idle VMs of one machine type, booted ahead of
/// jobs, holding no runner config until a lease takes one. Its reminder enforces idle deadlines and refills the pool,
/// so no pool VM outlives its deadline when silos die.
/// </summary>
[Alias("builtiful.pool")]
public interface IPoolGrain : IGrainWithStringKey
{
    /// <summary>
    /// Arms the pool's reminder and a tick that fills it; every silo calls it at start-up for every configured pool. It
    /// interleaves: a reminder call that waits on a dying silo must not hold up the pool's ticks behind it.
    /// </summary>
    [AlwaysInterleave, Alias("start")]
    Task Start();

    /// <summary>
    /// Every silo calls it each check period: an inactive pool (its silo died) activates and ticks at once, and an active
    /// one ends the idle VMs that came due, interleaved, even while its tick waits on a slow cloud, lease or database.
    /// </summary>
    [AlwaysInterleave, Alias("wake")]
    Task Wake();

    /// <summary>
    /// A lease's first launch attempt asks for an idle VM: a ready (booted, claiming) VM first, then a booting one. Null: a
    /// miss, the lease launches its own. Idempotent per lease: asking again answers the VM handed out before. Interleaved, so a
    /// take never waits behind the pool's own launches and terminations.
    /// </summary>
    [AlwaysInterleave, Alias("take")]
    Task<PoolTake?> Take(Guid leaseId);

    /// <summary>
    /// A pool VM's claim (its identity verified by the gateway): waits up to <paramref name="wait"/> for a lease to take
    /// the VM, and says which lease did, or that the VM must wait, or why it is refused.
    /// </summary>
    [AlwaysInterleave, Alias("claim")]
    Task<PoolClaimAnswer> Claim(Guid vmId, string instanceId, string token, TimeSpan wait);

    /// <summary>The reconciler asks whether this pool owns an instance, or which lease took it.</summary>
    [ReadOnly, AlwaysInterleave, Alias("locate")]
    Task<PoolLocation> Locate(string instanceId);

    [ReadOnly, AlwaysInterleave, Alias("view")]
    Task<PoolView> GetView();

    /// <summary>
    /// An operator's runtime override of MinIdle and MaxIdle (null: keep; MaxIdle 0 drains the pool), stored in the pool's
    /// state. Interleaved and answered once stored: surplus idle VMs are ended at once, launches follow on the pool's own
    /// tick, so an operator never waits on the cloud (or on a tick stuck there).
    /// </summary>
    [AlwaysInterleave, Alias("set")]
    Task<PoolSetAnswer> Set(int? minIdle, int? maxIdle);
}

/// <summary>The VM a lease took: it goes on as if it had launched it.</summary>
[GenerateSerializer, Immutable, Alias("builtiful.pool-take")]
public sealed record PoolTake
{
    [Id(0)] public required Guid VmId { get; init; }
    [Id(1)] public required string InstanceId { get; init; }
    [Id(2)] public required DateTimeOffset LaunchedAt { get; init; }
    /// <summary>The VM booted and is polling for a job.</summary>
    [Id(3)] public bool Ready { get; init; }
}

public enum PoolClaimOutcome
{
    /// <summary>A lease took the VM: the gateway forwards the claim to <see cref="PoolClaimAnswer.LeaseId"/>.</summary>
    Taken = 0,
    /// <summary>Still idle: claim again.</summary>
    Wait = 1,
    /// <summary>The token is not this pool VM's; the VM is left alone.</summary>
    WrongToken = 2,
    /// <summary>The right token from another instance: refused, and the pool VM is terminated.</summary>
    WrongInstance = 3,
    /// <summary>The pool does not know the VM, or it is past its idle deadline.</summary>
    Unknown = 4,
}

[GenerateSerializer, Immutable, Alias("builtiful.pool-claim-answer")]
public sealed record PoolClaimAnswer(
    [property: Id(0)] PoolClaimOutcome Outcome,
    [property: Id(1)] string Reason,
    [property: Id(2)] Guid? LeaseId = null);

/// <summary>What the pool knows of an instance: <see cref="Owned"/> while idle or booting in the pool; <see cref="TakenBy"/> once a lease took it.</summary>
[GenerateSerializer, Immutable, Alias("builtiful.pool-location")]
public sealed record PoolLocation(
    [property: Id(0)] bool Owned,
    [property: Id(1)] Guid? TakenBy,
    [property: Id(2)] DateTimeOffset? IdleDeadline);

[GenerateSerializer, Immutable, Alias("builtiful.pool-set-answer")]
public sealed record PoolSetAnswer([property: Id(0)] PoolView? View, [property: Id(1)] string? Error);

/// <summary>What the admin API shows of a pool.</summary>
[GenerateSerializer, Immutable, Alias("builtiful.pool-view")]
public sealed record PoolView
{
    [Id(0)] public required string Name { get; init; }
    [Id(1)] public required string MachineType { get; init; }
    [Id(2)] public required string Target { get; init; }
    /// <summary>Configured or overridden, before any schedule.</summary>
    [Id(3)] public int MinIdle { get; init; }
    [Id(4)] public int MaxIdle { get; init; }
    /// <summary>The MinIdle in force now (a schedule window may raise or lower it).</summary>
    [Id(5)] public int EffectiveMinIdle { get; init; }
    [Id(6)] public TimeSpan IdleLifetime { get; init; }
    [Id(7)] public bool Overridden { get; init; }
    [Id(8)] public IReadOnlyList<PoolVmView> Vms { get; init; } = [];
    [Id(9)] public long Hits { get; init; }
    [Id(10)] public long Misses { get; init; }
    [Id(11)] public long Launched { get; init; }
    [Id(12)] public long Expired { get; init; }
    [Id(13)] public int Idle { get; init; }
    [Id(14)] public int Booting { get; init; }
}

[GenerateSerializer, Immutable, Alias("builtiful.pool-vm-view")]
public sealed record PoolVmView
{
    [Id(0)] public required Guid VmId { get; init; }
    [Id(1)] public string? InstanceId { get; init; }
    /// <summary><c>launching</c>, <c>booting</c>, <c>idle</c>, <c>taken</c>, <c>expiring</c>.</summary>
    [Id(2)] public required string Status { get; init; }
    [Id(3)] public DateTimeOffset? LaunchedAt { get; init; }
    [Id(4)] public DateTimeOffset IdleDeadline { get; init; }
    [Id(5)] public Guid? TakenBy { get; init; }
}
