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

    [Fact]
    public async Task Ended_leases_are_listed_at_once_newest_first_once_each_and_bounded()
    {
        var leases = Enumerable.Range(1, LeaseHistoryGrain.Capacity + 150).Select(Ended).ToList();
        foreach (var lease in leases)
        {
            await History.Ended(lease);
        }

        await History.Ended(leases[^1]); // a lease that reports its end twice (a retried notice) is listed once

        // Ended is one-way and Recent may interleave: wait until the last notice is in
        var recent = await Eventually.Until(() => History.Recent(), r => r.Count > 0 && r[0].LeaseId == leases[^1].LeaseId, "the last ended lease listed");
        Assert.Equal(LeaseHistoryGrain.Capacity, recent.Count);
        Assert.Equal(leases[150].LeaseId, recent[^1].LeaseId);
        Assert.Equal(recent.Count, recent.Select(l => l.LeaseId).Distinct().Count());

        // the oldest were pushed out and are forgotten, so one reported again comes back as the newest
        await History.Ended(leases[0]);
        await Eventually.Until(() => History.Recent(), r => r[0].LeaseId == leases[0].LeaseId, "a forgotten lease listed again");

        var stored = await Eventually.Until(StoredAsync, s => s.Count > 0 && s[0].LeaseId == leases[0].LeaseId, "the history stored");
        Assert.Equal((await History.Recent()).Select(l => l.LeaseId), stored.Select(l => l.LeaseId));
    }
}
