using Builtiful.Providers;

namespace Builtiful.Testing;

/// <summary>A cloud that passes every call to a real one; a test overrides only the calls it refuses, counts or holds.</summary>
public abstract class DelegatingComputeProvider(IComputeProvider inner) : IComputeProvider
{
    protected IComputeProvider Inner => inner;

    public string Name => inner.Name;

    public string ClusterName => inner.ClusterName;

    public virtual Task<LaunchedInstance> LaunchAsync(LaunchRequest request, CancellationToken cancellationToken) => inner.LaunchAsync(request, cancellationToken);

    public virtual Task TerminateAsync(string instanceId, CancellationToken cancellationToken) => inner.TerminateAsync(instanceId, cancellationToken);

    public virtual Task<InstanceState> DescribeAsync(string instanceId, CancellationToken cancellationToken) => inner.DescribeAsync(instanceId, cancellationToken);

    public virtual Task<IReadOnlyDictionary<string, InstanceState>> DescribeManyAsync(IReadOnlyCollection<string> instanceIds, CancellationToken cancellationToken) =>
        inner.DescribeManyAsync(instanceIds, cancellationToken);

    public virtual Task<IReadOnlyList<InstanceSummary>> ListByTagAsync(string key, string value, CancellationToken cancellationToken) =>
        inner.ListByTagAsync(key, value, cancellationToken);
}
