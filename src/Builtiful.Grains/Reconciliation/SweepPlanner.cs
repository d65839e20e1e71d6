using Builtiful.Providers;

namespace Builtiful.Reconciliation;

/// <summary>Why an instance was first found unwanted, and when; the reconciler's memory between two sweeps.</summary>
public sealed record Suspicion(DateTimeOffset Since, string Reason);

/// <summary>
/// What the reconciler carries from one sweep to the next: where the rotating cursor stopped (the last instance id
/// visited) and the instances one sweep found a reason to terminate.
/// </summary>
public sealed record SweepState(string? Cursor, IReadOnlyDictionary<string, Suspicion> Suspects)
{
    public static readonly SweepState Empty = new(null, new Dictionary<string, Suspicion>(StringComparer.Ordinal));
}

/// <summary>The instances a sweep visits (in order) and where its cursor stops.</summary>
public sealed record SweepWindow(IReadOnlyList<InstanceSummary> Visit, int Live, string? NextCursor);

/// <summary>One visited instance: the reason it should go (null: it belongs to a live lease), or its check failed.</summary>
public sealed record InstanceCheck(string InstanceId, string? Reason, bool Failed = false);

/// <summary>An instance two sweeps agreed on.</summary>
public sealed record TerminateInstance(string InstanceId, string Reason);

/// <summary>The next sweep's state, what to terminate now, and the instances newly marked suspect.</summary>
public sealed record SweepDecision(SweepState State, IReadOnlyList<TerminateInstance> Terminate, IReadOnlyList<string> NewSuspects);

/// <summary>
/// The sweep's decisions without I/O. An instance is terminated only when two sweeps at least
/// <see cref="ReconcilerOptions.ConfirmationGap"/> apart both found a reason; a cursor ordered by instance id moves on
/// so that every live instance is visited within ceil(live / max) sweeps; a failed check decides nothing.
/// </summary>
public sealed class SweepPlanner(ReconcilerOptions options)
{
    /// <summary>This cluster's live instances after the cursor, wrapping round, at most <see cref="ReconcilerOptions.MaxInstancesPerSweep"/>.</summary>
    public SweepWindow Window(SweepState state, IEnumerable<InstanceSummary> listed, string clusterName)
    {
        ArgumentNullException.ThrowIfNull(state);
        ArgumentNullException.ThrowIfNull(listed);
        var live = Live(listed, clusterName);
        var start = state.Cursor is null ? 0 : FirstAfter(live, state.Cursor);
        var take = Math.Min(live.Count, options.MaxInstancesPerSweep);
        var visit = new List<InstanceSummary>(take);
        for (var i = 0; i < take; i++)
        {
            visit.Add(live[(start + i) % live.Count]);
        }

        return new SweepWindow(visit, live.Count, visit.Count == 0 ? null : visit[^1].InstanceId);
    }

    public SweepDecision Decide(SweepState state, SweepWindow window, IReadOnlyList<InstanceCheck> checks, IEnumerable<InstanceSummary> listed, string clusterName, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(state);
        ArgumentNullException.ThrowIfNull(window);
        ArgumentNullException.ThrowIfNull(checks);
        var live = Live(listed, clusterName).Select(i => i.InstanceId).ToHashSet(StringComparer.Ordinal);

        // Instances that are gone need no memory; the ones outside this window keep theirs until their turn.
        var suspects = state.Suspects.Where(s => live.Contains(s.Key)).ToDictionary(s => s.Key, s => s.Value, StringComparer.Ordinal);
        var terminate = new List<TerminateInstance>();
        var newSuspects = new List<string>();
        foreach (var check in checks)
        {
            if (check.Failed || !live.Contains(check.InstanceId))
            {
                continue;
            }

            if (check.Reason is null)
            {
                suspects.Remove(check.InstanceId);
            }
            else if (!suspects.TryGetValue(check.InstanceId, out var suspicion))
            {
                suspects[check.InstanceId] = new Suspicion(now, check.Reason);
                newSuspects.Add(check.InstanceId);
            }
            else if (now - suspicion.Since >= options.ConfirmationGap)
            {
                // Kept as suspect: if the termination fails, the next sweep that still finds a reason tries again at once.
                terminate.Add(new TerminateInstance(check.InstanceId, check.Reason));
            }
        }

        return new SweepDecision(new SweepState(window.NextCursor, suspects), terminate, newSuspects);
    }

    private static List<InstanceSummary> Live(IEnumerable<InstanceSummary> listed, string clusterName) =>
        [.. listed
            .Where(i => i.State is not (InstanceState.Terminated or InstanceState.NotFound))
            // The provider lists by this tag; checked again so that a filter ignored upstream can never reach another cluster.
            .Where(i => i.Tags.TryGetValue(InstanceTags.Cluster, out var cluster) && string.Equals(cluster, clusterName, StringComparison.Ordinal))
            .DistinctBy(i => i.InstanceId, StringComparer.Ordinal)
            .OrderBy(i => i.InstanceId, StringComparer.Ordinal)];

    private static int FirstAfter(List<InstanceSummary> live, string cursor)
    {
        var index = live.FindIndex(i => string.CompareOrdinal(i.InstanceId, cursor) > 0);
        return index < 0 ? 0 : index;
    }
}
