using Builtiful.Leases;
using Microsoft.Extensions.DependencyInjection;
using Builtiful.Testing;
using Orleans.Storage;

namespace Builtiful.Grains.Tests;

/// <summary>
/// Every lease in the cluster reports its end to one history grain: it answers from memory at once, keeps the newest
/// <see cref="LeaseHistoryGrain.Capacity"/> once each, and stores them in batches rather than one write per lease.
/// </summary>
public sealed class LeaseHistoryTests(LifecycleCluster world) : IClassFixture<LifecycleCluster>
{
    private ILeaseHistoryGrain History => world.Client.GetGrain<ILeaseHistoryGrain>(ILeaseHistoryGrain.Key);

    private static EndedLease Ended(int i) =>
        new(Guid.NewGuid(), 42, i % 7 == 0 ? LeasePhase.Failed : LeasePhase.Terminated, LifecycleCluster.Epoch.AddSeconds(i));

    private async Task<List<EndedLease>> StoredAsync()
    {
        var storage = world.Cluster.Silos[0].ServiceProvider.GetRequiredKeyedService<IGrainStorage>(StorageNames.Grains);
        var stored = new GrainState<LeaseHistoryState>(new LeaseHistoryState());
        await storage.ReadStateAsync("lease-history", History.GetGrainId(), stored);
        return stored.State!.Recent;
    }

    private async Task<IReadOnlyList<EndedLease>> AfterAsync(EndedLease barrier)
    {
        // Ended is one-way and Recent may interleave: a newer lease reported last shows when the notices before it are in
        await History.Ended(barrier);
        return await Eventually.Until(() => History.Recent(), r => r.Count > 0 && r[0].LeaseId == barrier.LeaseId, "the newest ended lease listed");
    }

    [Fact]
    public async Task Ended_leases_are_listed_newest_end_first_once_each_and_bounded_whatever_order_they_arrive_in()
    {
        var leases = Enumerable.Range(1, LeaseHistoryGrain.Capacity + 150).Select(Ended).ToList();
        foreach (var lease in leases.OrderBy(_ => Random.Shared.Next()))
        {
            await History.Ended(lease);
        }

        var expected = leases.Skip(150).Reverse().Select(l => l.LeaseId).ToList();
        var recent = await Eventually.Until(() => History.Recent(), r => r.Select(l => l.LeaseId).SequenceEqual(expected), "the newest leases listed in order");
        Assert.Equal(LeaseHistoryGrain.Capacity, recent.Count);

        await History.Ended(leases[^1]); // a lease that reports its end twice (a retried notice) is listed once
        await History.Ended(leases[0]); // older than every lease kept: not listed
        var barrier = Ended(LeaseHistoryGrain.Capacity + 151);
        recent = await AfterAsync(barrier);
        Assert.Equal(LeaseHistoryGrain.Capacity, recent.Count);
        Assert.Single(recent, l => l.LeaseId == leases[^1].LeaseId);
        Assert.DoesNotContain(recent, l => l.LeaseId == leases[0].LeaseId);
        Assert.Equal(leases[151].LeaseId, recent[^1].LeaseId);

        // a lease that does not say when it ended is stamped with the time the history heard of it
        world.Clock.Advance(TimeSpan.FromHours(1));
        var undated = new EndedLease(Guid.NewGuid(), 42, LeasePhase.Failed, null);
        recent = await AfterAsync(undated);
        Assert.Equal(world.Clock.GetUtcNow(), recent[0].EndedAt);

        var stored = await Eventually.Until(StoredAsync, s => s.Count > 0 && s[0].LeaseId == undated.LeaseId, "the history stored");
        Assert.Equal(recent.Select(l => l.LeaseId), stored.Select(l => l.LeaseId));
    }
}
