using Builtiful.Machines;

namespace Builtiful.Leases;

/// <summary>What an organisation asks of a new lease: one VM of a machine type, for one job.</summary>
[GenerateSerializer, Immutable, Alias("builtiful.lease-order")]
public sealed record LeaseOrder
{
    [Id(0)] public required long InstallationId { get; init; }
    [Id(1)] public required long ForJobId { get; init; }
    [Id(2)] public required MachineType MachineType { get; init; }
    /// <summary>The job's labels: the runner registers with these so GitHub can hand it the job.</summary>
    [Id(3)] public required IReadOnlyList<string> Labels { get; init; }
    /// <summary>The organisation's cap on a VM's life; the lease takes the smaller of this and the cluster's.</summary>
    [Id(4)] public TimeSpan? MaxLifetime { get; init; }
    [Id(5)] public string? AccountLogin { get; init; }
    [Id(6)] public string? AccountType { get; init; }
    /// <summary><c>owner/name</c>; user-account installations register runners on the repository.</summary>
    [Id(7)] public string? Repository { get; init; }
    [Id(8)] public long RunnerGroupId { get; init; } = 1;
    // [Id(9)] is retired (DrivenByOrganisation, never shipped): never reuse it.
    /// <summary>When the lease stops retrying its launch: GitHub cancels the job it is for once queued 24 h.</summary>
    [Id(10)] public DateTimeOffset? GiveUpAt { get; init; }
    /// <summary>
    /// Sent again for a slot the organisation already held: an earlier activation may have launched a VM and died before
    /// it stored the order, so the lease looks for that VM by its tag before launching and takes no warm-pool VM.
    /// </summary>
    [Id(11)] public bool Repair { get; init; }
    /// <summary>When the organisation ordered the lease: its deadlines count from here, so a repaired order keeps the first's.</summary>
    [Id(12)] public DateTimeOffset? OrderedAt { get; init; }
}
