using Microsoft.Extensions.DependencyInjection;
using Orleans.Storage;

namespace Builtiful.Leases;

/// <summary>
/// The cluster's most recently ended leases, newest end first (notices from many silos arrive in any order; a lease
/// that does not say when it ended is stamped when the history hears of it). Every lease in the cluster reports here when it ends, so the
/// grain must not cost a storage write per lease: at 1,400 jobs a second, rewriting the whole list for each would be
/// 1,400 writes of ~40 KB a second through one activation, the cluster's throughput ceiling. The list is updated in
/// memory at once (operators see an ended lease immediately) and written at most once per <see cref="FlushDelay"/>,
/// and when the grain deactivates. What a silo crash can lose is the last second of this index, never a lease: the
/// lease keeps its own final state, and its job still names it.
/// </summary>
public sealed class LeaseHistoryGrain(
    [PersistentState("lease-history", StorageNames.Grains)] IPersistentState<LeaseHistoryState> state,
    [FromKeyedServices(BuiltifulClock.Key)] TimeProvider time) : Grain, ILeaseHistoryGrain
{
    /// <summary>Enough for an operator to look back over a busy hour; older leases are found through their jobs.</summary>
    public const int Capacity = 1000;

    /// <summary>The longest an ended lease stays only in memory.</summary>
    public static readonly TimeSpan FlushDelay = TimeSpan.FromSeconds(1);

    private readonly HashSet<Guid> _known = [];
    private IGrainTimer? _flush;
    private bool _dirty;

    private List<EndedLease> Recent => state.State.Recent;

    public override Task OnActivateAsync(CancellationToken cancellationToken)
    {
        _known.UnionWith(Recent.Select(l => l.LeaseId));
        return Task.CompletedTask;
    }

    public override async Task OnDeactivateAsync(DeactivationReason reason, CancellationToken cancellationToken)
    {
        if (_dirty)
        {
            await FlushAsync();
        }
    }

    public Task Ended(EndedLease lease)
    {
        ArgumentNullException.ThrowIfNull(lease);
        if (_known.Contains(lease.LeaseId))
        {
            return Task.CompletedTask;
        }

        lease = lease.EndedAt is null ? lease with { EndedAt = time.GetUtcNow() } : lease;
        var at = 0;
        while (at < Recent.Count && Recent[at].EndedAt > lease.EndedAt)
        {
            at++;
        }

        if (at >= Capacity)
        {
            return Task.CompletedTask; // older than every lease kept
        }

        Recent.Insert(at, lease);
        _known.Add(lease.LeaseId);
        if (Recent.Count > Capacity)
        {
            _known.Remove(Recent[Capacity].LeaseId);
            Recent.RemoveAt(Capacity);
        }

        _dirty = true;
        ScheduleFlush();
        return Task.CompletedTask;
    }

    Task<IReadOnlyList<EndedLease>> ILeaseHistoryGrain.Recent() => Task.FromResult<IReadOnlyList<EndedLease>>([.. Recent]);

    private void ScheduleFlush() =>
        _flush ??= this.RegisterGrainTimer(FlushAsync, new GrainTimerCreationOptions(FlushDelay, Timeout.InfiniteTimeSpan) { KeepAlive = true });

    /// <summary>
    /// A failed write keeps the list dirty and tries again a delay later; the entries are still in memory. A write
    /// refused because another activation wrote meanwhile (a silo was declared dead while this one lived) merges both
    /// lists, so neither activation's leases drop out of the index.
    /// </summary>
    private async Task FlushAsync()
    {
        _flush?.Dispose();
        _flush = null;
        _dirty = false;
        try
        {
            await state.WriteStateAsync();
        }
        catch (Exception failure)
        {
            if (failure is InconsistentStateException)
            {
                List<EndedLease> mine = [.. Recent];
                await state.ReadStateAsync();
                var merged = Recent.Concat(mine).DistinctBy(l => l.LeaseId)
                    .OrderByDescending(l => l.EndedAt ?? DateTimeOffset.MinValue).Take(Capacity).ToList();
                state.State.Recent = merged;
                _known.Clear();
                _known.UnionWith(merged.Select(l => l.LeaseId));
            }

            _dirty = true;
            ScheduleFlush();
            throw;
        }
    }
}
