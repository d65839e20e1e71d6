using System.Collections.Concurrent;
using Builtiful.Providers;
using Builtiful.Simulation;

namespace Builtiful.Bench.Hosting;

/// <summary>
/// A cloud that answers at once and forgets a VM when it is terminated, so the bench measures the control plane,
/// not a simulator: no boot timers, no simulated runner, no ever-growing list of VMs.
/// The lease's idempotency token names the instance, so a retried launch finds the same VM. It keeps only what its
/// tags need (lease and expiry), as a cloud keeps them outside the silo, and lists them for the reconciler.
/// Each VM's claim of its runner config is played by the load driver (<see cref="BenchProbe.Launched"/>).
/// </summary>
public sealed class ZeroLatencyCloud(BenchProbe probe) : IComputeProvider
{
    private const string Prefix = "bench-";
    private readonly ConcurrentDictionary<string, (Guid Lease, DateTimeOffset ExpiresAt)> _running = new(StringComparer.Ordinal);

    // The catalogue's images are keyed by provider name; the bench stands in for the simulated one.
    public string Name => SimulatedComputeProvider.ProviderName;

    public string ClusterName => SimulatedComputeProvider.DefaultClusterName;

    public Task<LaunchedInstance> LaunchAsync(LaunchRequest request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        var instanceId = Prefix + request.ClientToken;
        var launchedAt = DateTimeOffset.UtcNow;
        _running.TryAdd(instanceId, (request.LeaseId, request.ExpiresAt));
        probe.Launched(request.JobId, request.RunnerName, instanceId, request.LeaseId, request.Claim.Token, launchedAt);
        return Task.FromResult(new LaunchedInstance(instanceId, launchedAt));
    }

    public Task TerminateAsync(string instanceId, CancellationToken cancellationToken)
    {
        if (_running.TryRemove(instanceId, out _))
        {
            probe.Terminated();
        }

        return Task.CompletedTask;
    }

    public Task<InstanceState> DescribeAsync(string instanceId, CancellationToken cancellationToken) =>
        Task.FromResult(_running.ContainsKey(instanceId) ? InstanceState.Running : InstanceState.NotFound);

    public Task<IReadOnlyDictionary<string, InstanceState>> DescribeManyAsync(IReadOnlyCollection<string> instanceIds, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(instanceIds);
        IReadOnlyDictionary<string, InstanceState> states = instanceIds.Distinct(StringComparer.Ordinal)
            .ToDictionary(id => id, id => _running.ContainsKey(id) ? InstanceState.Running : InstanceState.NotFound, StringComparer.Ordinal);
        return Task.FromResult(states);
    }

    public Task<IReadOnlyList<InstanceSummary>> ListByTagAsync(string key, string value, CancellationToken cancellationToken)
    {
        // Every VM here carries the cluster tag the lease asked for; the reconciler lists by it, a lease by its own id.
        IReadOnlyList<InstanceSummary> found = key switch
        {
            InstanceTags.Cluster => [.. _running.Select(vm => Summary(vm.Key, vm.Value, value))],
            InstanceTags.Lease => [.. _running.Where(vm => vm.Value.Lease.ToString("N") == value).Select(vm => Summary(vm.Key, vm.Value, null))],
            _ => [],
        };
        return Task.FromResult(found);
    }

    private static InstanceSummary Summary(string instanceId, (Guid Lease, DateTimeOffset ExpiresAt) vm, string? cluster)
    {
        var tags = new Dictionary<string, string>
        {
            [InstanceTags.Lease] = vm.Lease.ToString("N"),
            [InstanceTags.ExpiresAt] = vm.ExpiresAt.ToString("O", System.Globalization.CultureInfo.InvariantCulture),
        };
        if (cluster is not null)
        {
            tags[InstanceTags.Cluster] = cluster;
        }

        return new InstanceSummary(instanceId, InstanceState.Running, tags);
    }
}

/// <summary>GitHub's <c>generate-jitconfig</c> at zero latency and with no registry: the bench's driver plays the runner.</summary>
public sealed class ZeroLatencyRunnerConfigs : IRunnerConfigSource
{
    public Task<RunnerConfig> CreateAsync(RunnerRegistration registration, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(registration);
        return Task.FromResult(new RunnerConfig(registration.RunnerName, "bench-jit-config"));
    }

    public Task<RunnerRemoval> RemoveAsync(RunnerRegistration registration, CancellationToken cancellationToken) =>
        Task.FromResult(RunnerRemoval.Removed);
}
