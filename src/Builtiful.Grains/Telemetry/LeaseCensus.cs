using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using Builtiful.Leases;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace Builtiful.Telemetry;

/// <summary>
/// The gauge <c>builtiful.leases</c>: live leases activated on this silo, by phase. Every call into a lease (its
/// organisation's deadline checks included) refreshes what the census knows, so no phase change needs its own hook; a lease not seen
/// for three check periods has moved to another silo or gone and is no longer counted here.
/// </summary>
public sealed class LeaseCensus : IIncomingGrainCallFilter
{
    private static readonly LeasePhase[] LivePhases = [.. Enum.GetValues<LeasePhase>().Where(p => !p.IsFinal())];

    private readonly ConcurrentDictionary<Guid, (LeasePhase Phase, DateTimeOffset SeenAt)> _leases = new();
    private readonly TimeProvider _time;
    private readonly TimeSpan _forgetAfter;

    public LeaseCensus(IMeterFactory meters, IOptions<LeaseOptions> options, [FromKeyedServices(BuiltifulClock.Key)] TimeProvider time)
    {
        ArgumentNullException.ThrowIfNull(meters);
        ArgumentNullException.ThrowIfNull(options);
        _time = time;
        _forgetAfter = options.Value.CheckPeriod * 3;
        meters.Create(BuiltifulMetrics.MeterName).CreateObservableGauge(
            "builtiful.leases", Measure, "{lease}", "Live leases activated on this silo, by phase; sum over silos for the cluster.");
    }

    public Task Invoke(IIncomingGrainCallContext context)
    {
        ArgumentNullException.ThrowIfNull(context);

        // Every grain call passes here; only calls into leases need waiting for (no state machine for the others).
        return context.TargetContext.GrainInstance is IVmLeaseGrain lease ? InvokeLeaseAsync(context, lease) : context.Invoke();
    }

    private async Task InvokeLeaseAsync(IIncomingGrainCallContext context, IVmLeaseGrain lease)
    {
        try
        {
            await context.Invoke();
        }
        finally
        {
            if (await lease.GetView() is { } view)
            {
                Observe(view.Id, view.Phase);
            }
        }
    }

    private void Observe(Guid leaseId, LeasePhase phase)
    {
        if (phase.IsFinal())
        {
            _leases.TryRemove(leaseId, out _);
        }
        else
        {
            _leases[leaseId] = (phase, _time.GetUtcNow());
        }
    }

    private IEnumerable<Measurement<int>> Measure()
    {
        var now = _time.GetUtcNow();
        var counts = LivePhases.ToDictionary(p => p, _ => 0);
        foreach (var (leaseId, seen) in _leases)
        {
            if (now - seen.SeenAt > _forgetAfter)
            {
                _leases.TryRemove(leaseId, out _);
                continue;
            }

            counts[seen.Phase]++;
        }

        return counts.Select(c => new Measurement<int>(c.Value, new KeyValuePair<string, object?>("phase", c.Key.ToWire())));
    }
}
