using System.Collections.Concurrent;

namespace Builtiful.Compute.Ec2;

/// <summary>
/// Which target holds an instance, and when this silo launched it. The launch time matters because EC2's API is
/// eventually consistent: "not found" shortly after a launch proves nothing.
/// </summary>
public sealed class InstanceDirectory(TimeProvider time, TimeSpan visibilityGrace)
{
    private readonly ConcurrentDictionary<string, Entry> _entries = new(StringComparer.Ordinal);

    public void Launched(string instanceId, Ec2Target target) =>
        _entries[instanceId] = new Entry(target, time.GetUtcNow());

    public void Seen(string instanceId, Ec2Target target) =>
        _entries.AddOrUpdate(instanceId, _ => new Entry(target, null), (_, known) => known with { Target = target });

    public void Forget(string instanceId) => _entries.TryRemove(instanceId, out _);

    public Ec2Target? TargetOf(string instanceId) => _entries.TryGetValue(instanceId, out var entry) ? entry.Target : null;

    /// <summary>True while EC2 may still be catching up with a launch this silo made.</summary>
    public bool MayBeInvisible(string instanceId) =>
        _entries.TryGetValue(instanceId, out var entry) && entry.LaunchedAt is { } at && time.GetUtcNow() - at < visibilityGrace;

    private sealed record Entry(Ec2Target Target, DateTimeOffset? LaunchedAt);
}
