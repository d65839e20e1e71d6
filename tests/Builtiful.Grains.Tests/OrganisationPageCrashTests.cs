using Builtiful.Jobs;
using Microsoft.Extensions.DependencyInjection;
using Orleans.Storage;

namespace Builtiful.Grains.Tests;

/// <summary>
/// The organisation's header is written after the pages it lists: a change whose page records were stored but whose
/// header was refused (a crash between the two) leaves the stored state as it was before the change, whole.
/// </summary>
public sealed class OrganisationPageCrashTests(OrganisationPageCrashTests.RefusingCluster world) : IClassFixture<OrganisationPageCrashTests.RefusingCluster>
{
    [Fact]
    public async Task A_header_write_refused_after_its_pages_were_stored_loses_no_slot_and_no_waiting_job()
    {
        // The cluster's limit is 2: 130 more jobs wait on three line pages, each a record of its own.
        var installationId = await world.InstallAsync();
        long[] jobs = [.. Enumerable.Range(0, 132).Select(_ => LifecycleCluster.NewJobId())];
        foreach (var jobId in jobs)
        {
            await world.Job(jobId).Apply(LifecycleCluster.JobEvent(jobId, installationId, JobStatus.Queued));
        }

        var before = await world.Organisation(installationId).GetView();
        var vms = await Eventually.Until(
            () => Task.FromResult(world.Compute.Vms.Where(v => before.LeaseIds.Contains(v.LeaseId)).Select(v => v.InstanceId).ToHashSet()),
            launched => launched.Count == 2,
            "both slots' VMs are launched");

        // The first job is cancelled: its VM goes to the head of the line, which changes the line's first page (a record,
        // written first) and the slots (in the header, refused).
        world.Refusals.RefuseNext("organisation");
        await Assert.ThrowsAnyAsync<Exception>(() => world.Organisation(installationId).JobFinished(jobs[0]));
        await world.Client.GetGrain<IManagementGrain>(0).ForceActivationCollection(TimeSpan.Zero);

        var read = await world.Organisation(installationId).GetView();
        Assert.Equal(before.LeaseIds.Order(), read.LeaseIds.Order());
        Assert.Equal(jobs.Skip(2), read.WaitingJobIds);
        Assert.Equal(jobs.Order(), (await world.Organisation(installationId).GetPendingJobs()).Select(p => p.JobId).Order());

        // The report comes again (a retry, or the next delivery) and is stored this time, over the record the refused
        // change had written.
        await world.Organisation(installationId).JobFinished(jobs[0]);
        await world.Client.GetGrain<IManagementGrain>(0).ForceActivationCollection(TimeSpan.Zero);

        var after = await world.Organisation(installationId).GetView();
        Assert.Equal(jobs.Skip(3), after.WaitingJobIds);
        Assert.Equal(before.LeaseIds.Order(), after.LeaseIds.Order());
        var pending = (await world.Organisation(installationId).GetPendingJobs()).Select(p => p.JobId).ToList();
        Assert.Equal(jobs.Skip(1).Order(), pending.Order());
        Assert.Equal(vms, world.Compute.Vms.Where(v => after.LeaseIds.Contains(v.LeaseId)).Select(v => v.InstanceId).ToHashSet());
    }

    public sealed class RefusingCluster : LifecycleCluster
    {
        public RefusingStorage.Refusals Refusals { get; } = new();

        protected override void ConfigureSilo(IServiceCollection services)
        {
            DecorateGrainStorage(services, inner => new RefusingStorage(inner, Refusals));
        }
    }
}
