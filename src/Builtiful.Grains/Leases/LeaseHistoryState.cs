namespace Builtiful.Leases;

[GenerateSerializer, Alias("builtiful.lease-history-state")]
public sealed record LeaseHistoryState
{
    /// <summary>Newest first, at most <see cref="LeaseHistoryGrain.Capacity"/>.</summary>
    [Id(0)] public List<EndedLease> Recent { get; set; } = [];
}
