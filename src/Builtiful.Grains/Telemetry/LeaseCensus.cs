using System.Diagnostics.Metrics;
using Builtiful.Leases;

namespace Builtiful.Telemetry;

/// <summary>
/// The gauge <c>builtiful.leases</c>: live leases activated on this silo, by phase. Each lease activation moves itself
/// here when it activates, when its phase changes and when it deactivates, so the census is exact and keeps nothing
/// per lease (a lease that moves to another silo is counted there; one lost with its silo is counted nowhere).
/// </summary>
public sealed class LeaseCensus
{
    private static readonly LeasePhase[] LivePhases = [.. Enum.GetValues<LeasePhase>().Where(p => !p.IsFinal())];

    private readonly int[] _counts = new int[Enum.GetValues<LeasePhase>().Max(p => (int)p) + 1];

    public LeaseCensus(IMeterFactory meters)
    {
        ArgumentNullException.ThrowIfNull(meters);
        meters.Create(BuiltifulMetrics.MeterName).CreateObservableGauge(
            "builtiful.leases", Measure, "{lease}", "Live leases activated on this silo, by phase; sum over silos for the cluster.");
    }

    /// <summary>The phase a lease activation is counted in: its own while live, none once ended or while unknown.</summary>
    public static LeasePhase? Counted(LeaseState lease)
    {
        ArgumentNullException.ThrowIfNull(lease);
        return lease.Known && !lease.Phase.IsFinal() ? lease.Phase : null;
    }

    /// <summary>Live leases activated on this silo in the phase.</summary>
    public int Count(LeasePhase phase) => Volatile.Read(ref _counts[(int)phase]);

    /// <summary>One lease activation leaves <paramref name="from"/> and enters <paramref name="to"/>; null is neither.</summary>
    public void Move(LeasePhase? from, LeasePhase? to)
    {
        if (from == to)
        {
            return;
        }

        if (from is { } left)
        {
            Interlocked.Decrement(ref _counts[(int)left]);
        }

        if (to is { } entered)
        {
            Interlocked.Increment(ref _counts[(int)entered]);
        }
    }

    private IEnumerable<Measurement<int>> Measure() =>
        LivePhases.Select(p => new Measurement<int>(Count(p), new KeyValuePair<string, object?>("phase", p.ToWire())));
}
