using Orleans.Concurrency;

namespace Builtiful.Jobs;

/// <summary>One GitHub Actions job, keyed by <c>workflow_job.id</c>.</summary>
[Alias("builtiful.job")]
public interface IJobGrain : IGrainWithIntegerKey
{
    /// <summary>Applies a delivery. Duplicates and deliveries older than the job's status change nothing.</summary>
    [Alias("apply")]
    Task<JobEventOutcome> Apply(WorkflowJobEvent jobEvent);

    /// <summary>
    /// The organisation gave up: every VM started for the job ended before a runner took it. One-way, because the
    /// organisation never waits on a job (jobs wait on organisations).
    /// </summary>
    [OneWay, Alias("provisioning-failed")]
    Task ProvisioningFailed(string reason);

    /// <summary>
    /// The organisation let go of a job it had kept without a VM (parked for an unknown installation, or waiting in line
    /// longer than GitHub keeps a job queued): the job launches nothing. One-way, like <see cref="ProvisioningFailed"/>.
    /// </summary>
    [OneWay, Alias("refused")]
    Task Refused(RejectionCode code, string reason);

    /// <summary>The lease launched for the job still has no VM and retries later: the job's view says why. One-way.</summary>
    [OneWay, Alias("launch-waiting")]
    Task LaunchWaiting(string reason);

    /// <summary>
    /// Retention: deletes the job's stored record, and its repository in the month's usage, unless the job may still be
    /// live at GitHub (neither completed nor rejected, and first seen at or after <paramref name="abandonedBefore"/>).
    /// </summary>
    [Alias("forget")]
    Task<RetentionOutcome> Forget(DateTimeOffset abandonedBefore);

    /// <summary>Null when the job was never seen. A read that never waits behind a slow launch or termination.</summary>
    [ReadOnly, AlwaysInterleave, Alias("view")]
    Task<JobView?> GetView();
}

public enum RetentionOutcome
{
    /// <summary>The record was deleted.</summary>
    Deleted = 0,
    /// <summary>The record is still in use (a live job or lease) and was kept.</summary>
    Kept = 1,
    /// <summary>There was no record.</summary>
    Absent = 2,
}

public enum JobEventOutcome
{
    /// <summary>The event moved the job forward.</summary>
    Applied = 0,
    /// <summary>The job was already at this status or later: nothing changed.</summary>
    Ignored = 1,
    /// <summary>The job is recorded but no VM will be launched for it; the reason is on the job.</summary>
    Rejected = 2,
    /// <summary>
    /// The job is recorded and kept, without a VM, until its installation's <c>installation.created</c> arrives (which
    /// can race the job's first delivery); it is rejected if that takes longer than <c>Organisations:ParkedJobMaxAge</c>.
    /// </summary>
    Parked = 3,
}
