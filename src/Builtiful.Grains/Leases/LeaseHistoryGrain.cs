namespace Builtiful.Leases;

public sealed class LeaseHistoryGrain(
    [PersistentState("lease-history", StorageNames.Grains)] IPersistentState<LeaseHistoryState> state) : Grain, ILeaseHistoryGrain
{
    /// <summary>Enough for an operator to look back over a busy hour; older leases are found through their jobs.</summary>
    public const int Capacity = 1000;

    public async Task Ended(EndedLease lease)
    {
        ArgumentNullException.ThrowIfNull(lease);
        var recent = state.State.Recent;
        if (recent.Exists(l => l.LeaseId == lease.LeaseId))
        {
            return;
        }

        recent.Insert(0, lease);
        if (recent.Count > Capacity)
        {
            recent.RemoveRange(Capacity, recent.Count - Capacity);
        }

        await state.WriteStateAsync();
    }

    public Task<IReadOnlyList<EndedLease>> Recent() => Task.FromResult<IReadOnlyList<EndedLease>>([.. state.State.Recent]);
}
