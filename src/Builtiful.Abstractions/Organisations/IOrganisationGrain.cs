using Orleans.Concurrency;
using Builtiful.Leases;

namespace Builtiful.Organisations;

/// <summary>
/// A GitHub App installation, keyed by installation id: its status and profile, its live leases and the
/// first-in first-out line of jobs waiting for capacity. Calls go organisation → lease, never back,
/// except the one-way <see cref="LeaseEnded"/>, so no call cycle can deadlock.
/// </summary>
/// <remarks>
/// The job lifecycle's calls interleave: each decides at once on the state as it is (a decision is synchronous), then
/// waits for the write that stores it and runs its commands. Decisions made while a write is in flight are stored
/// together by the next one, so a burst of jobs into one installation costs a write per batch, not per job, and one
/// job's lease order never holds up the next job's admission.
/// </remarks>
[Alias("builtiful.organisation")]
public interface IOrganisationGrain : IGrainWithIntegerKey
{
    [Alias("installation")]
    Task ApplyInstallation(InstallationChange change);

    [Alias("repositories")]
    Task ApplyRepositories(RepositoriesChange change);

    /// <summary>A queued job asks for a VM: started now, put in line, or refused with a reason.</summary>
    [AlwaysInterleave, Alias("request-runner")]
    Task<Admission> RequestRunner(RunnerRequest request);

    /// <summary><c>in_progress</c>: the job started, on one of our leases or (null) on a runner that is not ours.</summary>
    [AlwaysInterleave, Alias("job-started")]
    Task JobStarted(long jobId, Guid? leaseId);

    /// <summary><c>completed</c>: leaves the line, and a VM launched for it that no job took is released.</summary>
    [AlwaysInterleave, Alias("job-finished")]
    Task JobFinished(long jobId);

    /// <summary>A lease's VM is confirmed gone (or never launched): its slot is free.</summary>
    [OneWay, AlwaysInterleave, Alias("lease-ended")]
    Task LeaseEnded(Guid leaseId);

    /// <summary>
    /// Checks every slot against its lease: a slot whose lease is over (its one-way <see cref="LeaseEnded"/> was lost
    /// with a silo) is freed and its job gets another VM; waiting jobs are then admitted. Returns the slots freed.
    /// The reconciler calls it on each sweep, so a lost notice delays a job by at most one period.
    /// </summary>
    [Alias("reconcile")]
    Task<int> Reconcile();

    /// <summary>A read that never waits behind a slow launch or termination.</summary>
    [ReadOnly, AlwaysInterleave, Alias("view")]
    Task<OrganisationView> GetView();

    /// <summary>Jobs still queued at GitHub for this organisation (admitted or waiting), oldest first.</summary>
    [ReadOnly, AlwaysInterleave, Alias("pending")]
    Task<IReadOnlyList<PendingJob>> GetPendingJobs();
}
