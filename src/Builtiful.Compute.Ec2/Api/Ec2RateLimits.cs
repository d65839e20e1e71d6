using System.Collections.Concurrent;
using Builtiful.Compute.Ec2.Options;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace Builtiful.Compute.Ec2.Api;

/// <summary>
/// The silo's buckets, one set per account and region. A singleton, so every lease and reconciler on the silo
/// draws from the same budget.
/// </summary>
public sealed class Ec2RateLimits(IOptions<Ec2Options> options, [FromKeyedServices(BuiltifulClock.Key)] TimeProvider time) : IDisposable
{
    // Lazy, so a race to create one account's buckets cannot leave a losing set with live timers behind.
    private readonly ConcurrentDictionary<string, Lazy<Ec2ApiBuckets>> _buckets = new(StringComparer.Ordinal);

    public Ec2ApiBuckets For(string accountAndRegion) => _buckets.GetOrAdd(accountAndRegion, key => new Lazy<Ec2ApiBuckets>(() =>
    {
        var limits = options.Value.ApiLimits;
        return new Ec2ApiBuckets(
            new RequestBucket($"{key} RunInstances", limits.RunInstances.Burst, limits.RunInstances.PerSecond, time),
            new RequestBucket($"{key} TerminateInstances", limits.TerminateInstances.Burst, limits.TerminateInstances.PerSecond, time),
            new RequestBucket($"{key} Describe", limits.Describe.Burst, limits.Describe.PerSecond, time));
    })).Value;

    public void Dispose()
    {
        foreach (var buckets in _buckets.Values.Where(b => b.IsValueCreated))
        {
            buckets.Value.Dispose();
        }
    }
}
