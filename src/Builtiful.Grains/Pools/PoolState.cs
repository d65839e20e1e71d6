namespace Builtiful.Pools;

/// <summary>One VM of a pool, from the write before its launch until the provider confirms it gone.</summary>
[GenerateSerializer, Alias("builtiful.pool-vm")]
public sealed record PoolVm
{
    [Id(0)] public required Guid VmId { get; init; }
    /// <summary>Null until the launch answers (or a later tick finds the VM by its tag).</summary>
    [Id(1)] public string? InstanceId { get; init; }
    [Id(2)] public DateTimeOffset? LaunchedAt { get; init; }
    [Id(3)] public required DateTimeOffset IdleDeadline { get; init; }
    [Id(4)] public Guid? TakenBy { get; init; }
    [Id(5)] public DateTimeOffset? TakenAt { get; init; }
    /// <summary>Being terminated: past its idle deadline, beyond MaxIdle, refused, or its taker never adopted it.</summary>
    [Id(6)] public bool Expiring { get; init; }
    /// <summary>The lease that took it runs on it: from now on the lease's deadlines govern the VM.</summary>
    [Id(7)] public bool Adopted { get; init; }
    [Id(8)] public required DateTimeOffset RequestedAt { get; init; }

    public bool Available => TakenBy is null && !Expiring;
}

/// <summary>A pool's stored record: its VMs, the operator's overrides and its counters. No tokens: they derive from the VM ids.</summary>
[GenerateSerializer, Alias("builtiful.pool-state")]
public sealed record PoolState
{
    [Id(0)] public List<PoolVm> Vms { get; set; } = [];
    [Id(1)] public int? MinIdleOverride { get; set; }
    [Id(2)] public int? MaxIdleOverride { get; set; }
    [Id(3)] public long Hits { get; set; }
    [Id(4)] public long Misses { get; set; }
    [Id(5)] public long Launched { get; set; }
    [Id(6)] public long Expired { get; set; }
}
