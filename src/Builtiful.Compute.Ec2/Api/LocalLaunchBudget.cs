using System.Collections.Concurrent;
using Builtiful.Providers;
using Microsoft.Extensions.DependencyInjection;

namespace Builtiful.Compute.Ec2.Api;

/// <summary>
/// A launch budget for one process only (no cluster: tests of the provider alone, tools). A cluster registers its
/// grain-held budget instead, so every silo shares one bucket per account and region.
/// </summary>
public sealed class LocalLaunchBudget([FromKeyedServices(BuiltifulClock.Key)] TimeProvider time) : ILaunchBudget, IDisposable
{
    private readonly ConcurrentDictionary<string, Lazy<RequestBucket>> _buckets = new(StringComparer.Ordinal);

    public ValueTask AcquireAsync(LaunchBudgetKey budget, long installationId, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(budget);
        return _buckets.GetOrAdd(budget.Name, _ => new Lazy<RequestBucket>(() => new RequestBucket(budget.Name, budget.Burst, budget.PerSecond, time)))
            .Value.AcquireAsync(cancellationToken);
    }

    public void Dispose()
    {
        foreach (var bucket in _buckets.Values.Where(b => b.IsValueCreated))
        {
            bucket.Value.Dispose();
        }
    }
}
