using Orleans.Concurrency;

namespace Builtiful.Organisations;

/// <summary>
/// What an operator does to an installation, apart from what GitHub's deliveries do: change its limits, hold it
/// (an operator's suspension, independent of GitHub's), and list its jobs. Implemented by the organisation grain.
/// </summary>
[Alias("builtiful.organisation-operations")]
public interface IOrganisationOperations : IGrainWithIntegerKey
{
    /// <summary>Replaces the limits; a raised VM limit starts waiting jobs at once. Null when the installation was never seen.</summary>
    [Alias("set-limits")]
    Task<OrganisationView?> SetLimits(OrganisationLimits limits);

    /// <summary>
    /// New jobs are refused and VMs without a job are released; jobs already running finish. Null when the
    /// installation was never seen. Suspending twice keeps the first suspension.
    /// </summary>
    [Alias("suspend")]
    Task<OperatorSuspension?> Suspend(string reason);

    /// <summary>Lifts an operator's suspension and starts waiting jobs. False when the installation was never seen.</summary>
    [Alias("resume")]
    Task<bool> Resume();

    [ReadOnly, AlwaysInterleave, Alias("suspension")]
    Task<OperatorSuspension?> GetSuspension();

    /// <summary>
    /// Replaces the repository allow-list and the public-repository opt-in. Applies to jobs that ask for a VM from now on;
    /// jobs already admitted keep their place. Null when the installation was never seen.
    /// </summary>
    [Alias("set-repository-policy")]
    Task<RepositoryPolicy?> SetRepositoryPolicy(RepositoryPolicy policy);

    [ReadOnly, AlwaysInterleave, Alias("repository-policy")]
    Task<RepositoryPolicy> GetRepositoryPolicy();

    /// <summary>Jobs the organisation still tracks: queued (with or without a VM yet) and running on its leases.</summary>
    [ReadOnly, AlwaysInterleave, Alias("jobs")]
    Task<OrganisationJobs> GetJobs();
}

/// <summary>An operator's hold on an installation, with the reason they gave.</summary>
[GenerateSerializer, Immutable, Alias("builtiful.operator-suspension")]
public sealed record OperatorSuspension(
    [property: Id(0)] string Reason,
    [property: Id(1)] DateTimeOffset Since);

[GenerateSerializer, Immutable, Alias("builtiful.organisation-jobs")]
public sealed record OrganisationJobs(
    [property: Id(0)] IReadOnlyList<PendingJob> Pending,
    [property: Id(1)] IReadOnlyList<long> Running);
