using System.Collections.Concurrent;
using Microsoft.Extensions.DependencyInjection;

namespace Builtiful.Grains.Tests;

/// <summary>
/// The lifecycle cluster with the reconciler's own settings (its reminder out of the way, so only the tests sweep) and
/// a record, kept by a grain call filter outside the reconciler, of every lease asked for its view.
/// </summary>
public class ReconcilerCluster : LifecycleCluster
{
    public const string ConfirmationGap = "00:01:00";

    public LeaseViews Views { get; } = new();

    protected override IReadOnlyDictionary<string, string?> Settings { get; } = new Dictionary<string, string?>
    {
        ["Reconciler:Period"] = "00:10:00",
        ["Reconciler:ConfirmationGap"] = ConfirmationGap,
        ["Simulation:BootDelay"] = "01:00:00",
    };

    protected override void ConfigureSilo(IServiceCollection services) => services.AddSingleton<IIncomingGrainCallFilter>(Views);
}

/// <summary>Records every lease asked for its view, and fails the ones a test chooses, as a lease whose silo is gone does.</summary>
public sealed class LeaseViews : IIncomingGrainCallFilter
{
    private readonly ConcurrentDictionary<Guid, bool> _asked = new();
    private readonly ConcurrentDictionary<Guid, bool> _failing = new();

    public IReadOnlyCollection<Guid> Asked => [.. _asked.Keys];

    public void Fail(Guid leaseId) => _failing[leaseId] = true;

    public Task Invoke(IIncomingGrainCallContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        if (context.InterfaceMethod.Name == nameof(Leases.IVmLeaseGrain.GetView) && context.TargetId.TryGetGuidKey(out var leaseId, out _))
        {
            _asked[leaseId] = true;
            if (_failing.ContainsKey(leaseId))
            {
                throw new InvalidOperationException($"lease {leaseId} cannot answer (a test's fault)");
            }
        }

        return context.Invoke();
    }
}

/// <summary>A fleet big enough that one sweep cannot visit it all.</summary>
public sealed class LargeFleetCluster : ReconcilerCluster
{
    protected override IReadOnlyDictionary<string, string?> Settings { get; } = new Dictionary<string, string?>
    {
        ["Reconciler:Period"] = "01:00:00",
        ["Reconciler:ConfirmationGap"] = ConfirmationGap,
        ["Reconciler:MaxInstancesPerSweep"] = "1000",
        ["Simulation:BootDelay"] = "01:00:00",
    };
}
