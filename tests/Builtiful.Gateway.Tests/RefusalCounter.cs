using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using Builtiful.Gateway.Webhooks;
using Builtiful.Testing;

namespace Builtiful.Gateway.Tests;

/// <summary>Listens to this host's meter only (its meter factory is the meter's scope), so parallel hosts do not interfere.</summary>
internal sealed class RefusalCounter : IDisposable
{
    private readonly MeterListener _listener = new();
    private readonly ConcurrentDictionary<string, long> _counts = new();

    public RefusalCounter(IMeterFactory scope)
    {
        _listener.InstrumentPublished = (instrument, listener) =>
        {
            if (instrument.Meter.Name == WebhookMetrics.MeterName && instrument.Name == WebhookMetrics.RefusedName && ReferenceEquals(instrument.Meter.Scope, scope))
            {
                listener.EnableMeasurementEvents(instrument);
            }
        };
        _listener.SetMeasurementEventCallback<long>((_, value, tags, _) =>
        {
            foreach (var tag in tags)
            {
                if (tag.Key == "reason")
                {
                    _counts.AddOrUpdate((string)tag.Value!, value, (_, count) => count + value);
                }
            }
        });
        _listener.Start();
    }

    public Task<long> ReachesAsync(string reason, long atLeast) => Eventually.Until(
        () => Task.FromResult(_counts.GetValueOrDefault(reason)), count => count >= atLeast, $"{reason} is counted", TimeSpan.FromSeconds(10));

    public void Dispose() => _listener.Dispose();
}
