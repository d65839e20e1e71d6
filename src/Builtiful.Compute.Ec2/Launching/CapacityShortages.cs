using System.Collections.Concurrent;

namespace Builtiful.Compute.Ec2.Launching;

/// <summary>
/// Recent "no capacity" answers per target, market, instance type and subnet. Launches try those candidates last
/// for a while, so a depleted zone does not cost every launch on the silo a RunInstances from the scarce bucket.
/// </summary>
public sealed class CapacityShortages(TimeProvider time, TimeSpan memory)
{
    private readonly ConcurrentDictionary<(int Target, bool Spot, string Type, string Subnet), DateTimeOffset> _until = new();

    public void Remember(LaunchCandidate candidate)
    {
        ArgumentNullException.ThrowIfNull(candidate);
        if (memory > TimeSpan.Zero)
        {
            _until[Key(candidate)] = time.GetUtcNow() + memory;
        }
    }

    /// <summary>The plan with recently short candidates moved to the end, otherwise in plan order.</summary>
    public IEnumerable<LaunchCandidate> Order(IReadOnlyList<LaunchCandidate> plan)
    {
        ArgumentNullException.ThrowIfNull(plan);
        var now = time.GetUtcNow();
        var later = new List<LaunchCandidate>();
        foreach (var candidate in plan)
        {
            if (_until.TryGetValue(Key(candidate), out var until))
            {
                if (until > now)
                {
                    later.Add(candidate);
                    continue;
                }

                _until.TryRemove(Key(candidate), out _);
            }

            yield return candidate;
        }

        foreach (var candidate in later)
        {
            yield return candidate;
        }
    }

    private static (int, bool, string, string) Key(LaunchCandidate c) => (c.Target.Index, c.Spot, c.InstanceType, c.SubnetId);
}
