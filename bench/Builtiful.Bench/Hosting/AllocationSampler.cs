using System.Collections.Concurrent;
using System.Diagnostics.Tracing;

namespace Builtiful.Bench.Hosting;

/// <summary>
/// The runtime's own allocation samples in the host (<c>GCAllocationTick</c>: one event per about 100 KB allocated on a
/// thread, naming the type of the object that crossed the mark), added up by type while switched on. A sample stands for
/// the bytes since the last one, so the types' shares estimate where the allocated bytes go; no stacks. Listening costs
/// one event per 100 KB, so the bench switches it on only when asked (<c>--allocations</c>).
/// </summary>
public sealed class AllocationSampler : EventListener
{
    private const string RuntimeSource = "Microsoft-Windows-DotNETRuntime";
    private const EventKeywords GcKeyword = (EventKeywords)0x1;
    private readonly ConcurrentDictionary<string, long> _bytesByType = new(StringComparer.Ordinal);
    private volatile bool _on;

    public void Start()
    {
        _bytesByType.Clear();
        _on = true;
    }

    /// <summary>The sampled bytes by type, largest first, and the total they add up to.</summary>
    public (IReadOnlyList<(string Type, long Bytes)> Top, long Total) Read(int top)
    {
        _on = false;
        var all = _bytesByType.ToArray();
        return ([.. all.OrderByDescending(kv => kv.Value).Take(top).Select(kv => (kv.Key, kv.Value))], all.Sum(kv => kv.Value));
    }

    protected override void OnEventSourceCreated(EventSource eventSource)
    {
        ArgumentNullException.ThrowIfNull(eventSource);
        if (eventSource.Name == RuntimeSource)
        {
            EnableEvents(eventSource, EventLevel.Verbose, GcKeyword);
        }
    }

    protected override void OnEventWritten(EventWrittenEventArgs eventData)
    {
        ArgumentNullException.ThrowIfNull(eventData);
        if (!_on || eventData.EventName is null || !eventData.EventName.StartsWith("GCAllocationTick", StringComparison.Ordinal) || eventData.PayloadNames is null)
        {
            return;
        }

        var type = eventData.PayloadNames.IndexOf("TypeName") is var t and >= 0 ? eventData.Payload![t] as string : null;
        var amount = eventData.PayloadNames.IndexOf("AllocationAmount64") is var a and >= 0 ? Convert.ToInt64(eventData.Payload![a], System.Globalization.CultureInfo.InvariantCulture) : 0;
        _bytesByType.AddOrUpdate(type ?? "(unknown)", amount, (_, sum) => sum + amount);
    }
}
