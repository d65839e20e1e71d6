using System.Globalization;
using Builtiful.Jobs;
using Builtiful.Leases;
using Builtiful.Organisations;
using Builtiful.Providers;

namespace Builtiful.Grains.Tests;

/// <summary>
/// Jobs that must not get a VM yet: one an environment's protection rule holds (<c>waiting</c>), and one whose
/// <c>queued</c> raced its installation's <c>installation.created</c> (parked, then admitted in order).
/// </summary>
public sealed class QueuedJobTests(QueuedJobTests.World world) : IClassFixture<QueuedJobTests.World>
{
    public sealed class World : LifecycleCluster
    {
        protected override IReadOnlyDictionary<string, string?> Settings { get; } = new Dictionary<string, string?>
        {
            ["Organisations:ParkedJobLimit"] = "3",
        };
    }

    [Fact]
    public async Task Waiting_requests_no_VM_a_queued_after_it_requests_one_and_a_late_waiting_changes_nothing()
    {
        var installationId = await world.InstallAsync();
        var jobId = LifecycleCluster.NewJobId();

        Assert.Equal(JobEventOutcome.Applied, await world.Job(jobId).Apply(LifecycleCluster.JobEvent(jobId, installationId, JobStatus.Waiting)));
        Assert.Equal(JobEventOutcome.Ignored, await world.Job(jobId).Apply(LifecycleCluster.JobEvent(jobId, installationId, JobStatus.Waiting)));
        Assert.True((await world.Job(jobId).GetView())!.AwaitingApproval);
        Assert.Empty((await world.Organisation(installationId).GetView()).LeaseIds);

        Assert.Equal(JobEventOutcome.Applied, await world.Job(jobId).Apply(LifecycleCluster.JobEvent(jobId, installationId, JobStatus.Queued)));
        var leaseId = Assert.Single((await world.Organisation(installationId).GetView()).LeaseIds);
        await world.LeaseReaches(leaseId, LeasePhase.Booting);

        Assert.Equal(JobEventOutcome.Ignored, await world.Job(jobId).Apply(LifecycleCluster.JobEvent(jobId, installationId, JobStatus.Waiting)));
        var job = (await world.Job(jobId).GetView())!;
        Assert.Equal(JobStatus.Queued, job.Status);
        Assert.False(job.AwaitingApproval);
        Assert.Equal([leaseId], (await world.Organisation(installationId).GetView()).LeaseIds);
        Assert.Single(world.Compute.Vms, v => v.Tags[InstanceTags.Job] == jobId.ToString(CultureInfo.InvariantCulture));

        await world.RunOnLeaseAsync(jobId, installationId, leaseId);
        Assert.Equal(JobStatus.Completed, (await world.Job(jobId).GetView())!.Status);
        Assert.Equal(JobEventOutcome.Ignored, await world.Job(jobId).Apply(LifecycleCluster.JobEvent(jobId, installationId, JobStatus.Queued)));
    }

    [Fact]
    public async Task Parked_jobs_are_admitted_in_order_when_the_installation_is_created_and_the_line_is_bounded()
    {
        // GitHub has the installation already; Builtiful has not heard of it yet.
        var installationId = Random.Shared.NextInt64(1, long.MaxValue);
        await world.InstallInWorldAsync(installationId);
        long[] jobs = [LifecycleCluster.NewJobId(), LifecycleCluster.NewJobId(), LifecycleCluster.NewJobId()];
        foreach (var jobId in jobs)
        {
            Assert.Equal(JobEventOutcome.Parked, await world.Job(jobId).Apply(LifecycleCluster.JobEvent(jobId, installationId, JobStatus.Queued)));
        }

        var beyond = LifecycleCluster.NewJobId();
        Assert.Equal(JobEventOutcome.Rejected, await world.Job(beyond).Apply(LifecycleCluster.JobEvent(beyond, installationId, JobStatus.Queued)));
        Assert.Equal(RejectionCode.UnknownInstallation, (await world.Job(beyond).GetView())!.RejectionCode);
        Assert.Equal(jobs, (await world.Organisation(installationId).GetView()).ParkedJobIds);

        await world.Organisation(installationId).ApplyInstallation(new InstallationChange { Action = InstallationAction.Created, AccountLogin = LifecycleCluster.Account(installationId), AccountType = "Organization" });

        // Two VMs at most (the cluster's limit): the first two parked get them, the third waits first in line.
        var organisation = await world.Organisation(installationId).GetView();
        Assert.Empty(organisation.ParkedJobIds);
        Assert.Equal([jobs[2]], organisation.WaitingJobIds);
        var launchedFor = new List<long>();
        foreach (var leaseId in organisation.LeaseIds)
        {
            launchedFor.Add((await world.Lease(leaseId).GetView())!.LaunchedForJobId);
        }

        Assert.Equal(jobs[..2].Order(), launchedFor.Order());
        foreach (var jobId in jobs)
        {
            Assert.Null((await world.Job(jobId).GetView())!.RejectionReason);
        }
    }

    [Fact]
    public async Task Parked_jobs_of_an_installation_created_then_suspended_are_rejected_as_suspended()
    {
        var installationId = Random.Shared.NextInt64(1, long.MaxValue);
        var jobId = LifecycleCluster.NewJobId();
        Assert.Equal(JobEventOutcome.Parked, await world.Job(jobId).Apply(LifecycleCluster.JobEvent(jobId, installationId, JobStatus.Queued)));

        await world.Organisation(installationId).ApplyInstallation(new InstallationChange { Action = InstallationAction.Suspended });

        var job = await Eventually.Until(() => world.Job(jobId).GetView(), j => j!.RejectionReason is not null, $"job {jobId} is rejected");
        Assert.Equal(RejectionCode.SuspendedInstallation, job!.RejectionCode);
        Assert.Empty((await world.Organisation(installationId).GetView()).LeaseIds);
    }
}
