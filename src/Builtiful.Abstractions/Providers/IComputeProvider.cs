using Builtiful.Machines;

namespace Builtiful.Providers;

/// <summary>Where VMs come from: EC2 in production, the simulator on a fresh machine.</summary>
public interface IComputeProvider
{
    /// <summary>Names the provider in machine-type images and on leases, e.g. <c>Simulated</c>, <c>Ec2</c>.</summary>
    string Name { get; }

    /// <summary>
    /// The value of the <see cref="InstanceTags.Cluster"/> tag on every VM this cluster launches, and the only instances
    /// its reconciler may terminate; EC2 requires it set explicitly (<c>Compute:Ec2:ClusterName</c>).
    /// </summary>
    string ClusterName { get; }

    /// <summary>Launches one VM. Retrying with the same <see cref="LaunchRequest.ClientToken"/> must not launch a second.</summary>
    Task<LaunchedInstance> LaunchAsync(LaunchRequest request, CancellationToken cancellationToken);

    /// <summary>Asks for termination; an instance that is already gone is not an error.</summary>
    Task TerminateAsync(string instanceId, CancellationToken cancellationToken);

    Task<InstanceState> DescribeAsync(string instanceId, CancellationToken cancellationToken);

    /// <summary>
    /// The states of many instances in as few provider requests as it allows (an organisation's periodic check of all its
    /// VMs). Every id asked about has an answer; one the provider does not know reads <see cref="InstanceState.NotFound"/>.
    /// </summary>
    Task<IReadOnlyDictionary<string, InstanceState>> DescribeManyAsync(IReadOnlyCollection<string> instanceIds, CancellationToken cancellationToken);

    /// <summary>Instances carrying the tag, whatever their state, for leases whose launch outcome is unknown.</summary>
    Task<IReadOnlyList<InstanceSummary>> ListByTagAsync(string key, string value, CancellationToken cancellationToken);
}

public enum InstanceState
{
    Pending = 0,
    Running = 1,
    ShuttingDown = 2,
    Terminated = 3,
    /// <summary>The provider has never heard of it, or has forgotten it: as good as terminated.</summary>
    NotFound = 4,
}

public sealed record LaunchRequest
{
    public required Guid LeaseId { get; init; }
    public required long InstallationId { get; init; }
    public required long JobId { get; init; }
    public required MachineType MachineType { get; init; }
    /// <summary>The same on every retry of one attempt, at most 64 characters.</summary>
    public required string ClientToken { get; init; }
    /// <summary>How the VM claims its runner config after boot; the launch itself carries no runner config.</summary>
    public required ClaimTicket Claim { get; init; }
    /// <summary>The runner's name, from the lease id: the VM learns nothing more about its runner until it claims.</summary>
    public string RunnerName => Leases.RunnerNames.ForLease(LeaseId);
    /// <summary>The VM powers itself off at this instant even if the control plane is gone.</summary>
    public required DateTimeOffset ExpiresAt { get; init; }
    public IReadOnlyDictionary<string, string> Tags { get; init; } = new Dictionary<string, string>();
}

/// <summary>
/// Where a booted VM claims its runner config (the gateway's <c>POST /api/runners/claim</c>) and the claim token of this
/// launch attempt, the same on every retry of it. Useless without the VM's own signed identity document; never logged.
/// <paramref name="Pool"/> names the warm pool of a pool VM, which waits for a lease to take it before it gets a config.
/// </summary>
public sealed record ClaimTicket(Uri Url, string Token, string? Pool = null)
{
    public override string ToString() => $"ClaimTicket {{ Url = {Url}, Token = [redacted], Pool = {Pool} }}";
}

public sealed record LaunchedInstance(string InstanceId, DateTimeOffset LaunchedAt);

public sealed record InstanceSummary(string InstanceId, InstanceState State, IReadOnlyDictionary<string, string> Tags);

/// <summary>The tags every Builtiful VM carries, so cloud resources can always be traced to a lease.</summary>
public static class InstanceTags
{
    public const string Lease = "builtiful:lease";
    public const string Installation = "builtiful:installation";
    public const string Job = "builtiful:job";
    public const string ExpiresAt = "builtiful:expires-at";
    public const string Cluster = "builtiful:cluster";
    /// <summary>A warm pool's VM: the pool's name (such VMs carry no lease tag: the pool says which lease took one).</summary>
    public const string Pool = "builtiful:pool";
    /// <summary>A pool VM's own id (its launch's idempotency and claim token derive from it).</summary>
    public const string PoolVm = "builtiful:pool-vm";
}
