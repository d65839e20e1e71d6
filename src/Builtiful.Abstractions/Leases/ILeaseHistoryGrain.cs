using Orleans.Concurrency;

namespace Builtiful.Leases;

/// <summary>
/// The most recently ended leases of the cluster, newest first and bounded, for operators listing terminated and
/// failed leases (organisations forget a lease once its VM is gone). One grain, key <see cref="Key"/>.
/// </summary>
[Alias("builtiful.lease-history")]
public interface ILeaseHistoryGrain : IGrainWithIntegerKey
{
    public const long Key = 0;

    /// <summary>One-way: a lease's end never waits on the history.</summary>
    [OneWay, Alias("ended")]
    Task Ended(EndedLease lease);

    [ReadOnly, AlwaysInterleave, Alias("recent")]
    Task<IReadOnlyList<EndedLease>> Recent();
}

[GenerateSerializer, Immutable, Alias("builtiful.ended-lease")]
public sealed record EndedLease(
    [property: Id(0)] Guid LeaseId,
    [property: Id(1)] long InstallationId,
    [property: Id(2)] LeasePhase Phase,
    [property: Id(3)] DateTimeOffset? EndedAt);
