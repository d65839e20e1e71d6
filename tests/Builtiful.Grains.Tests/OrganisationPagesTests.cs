using Builtiful.Jobs;
using Builtiful.Organisations;
using Microsoft.Extensions.DependencyInjection;
using Orleans.Storage;

namespace Builtiful.Grains.Tests;

/// <summary>
/// An organisation whose slots and waiting line span several stored pages (64 entries a page) is read back whole from
/// them: judged by the simulated cloud's VMs (each must still have its slot) and by the jobs queued (each still has a VM or
/// its place in line), across deactivations and changes that move jobs between pages.
/// </summary>
public sealed class OrganisationPagesTests(LifecycleCluster world) : IClassFixture<LifecycleCluster>
{
    private const int Slots = 70;
    private const int Waiting = 140;

    [Fact]
    public async Task Slots_and_a_long_line_on_many_pages_survive_deactivations_with_nothing_lost()
    {
        var installationId = await world.InstallAsync();
        Assert.NotNull(await world.Client.GetGrain<IOrganisationOperations>(installationId).SetLimits(new OrganisationLimits { MaxConcurrentVms = Slots }));
        long[] jobs = [.. Enumerable.Range(0, Slots + Waiting).Select(_ => LifecycleCluster.NewJobId())];
        foreach (var jobId in jobs)
        {
            Assert.Equal(JobEventOutcome.Applied, await world.Job(jobId).Apply(LifecycleCluster.JobEvent(jobId, installationId, JobStatus.Queued)));
        }

        var before = await world.Organisation(installationId).GetView();
        Assert.Equal(Slots, before.LiveLeases);
        Assert.Equal(jobs.Skip(Slots), before.WaitingJobIds);
        var vms = await Eventually.Until(
            () => Task.FromResult(world.Compute.Vms.Where(v => before.LeaseIds.Contains(v.LeaseId)).Select(v => v.LeaseId).ToHashSet()),
            launched => launched.Count == Slots,
            "every slot's VM is launched");

        await Reactivate();

        var read = await world.Organisation(installationId).GetView();
        Assert.Equal(before.LeaseIds.Order(), read.LeaseIds.Order());
        Assert.Equal(jobs.Skip(Slots), read.WaitingJobIds);
        Assert.Subset(read.LeaseIds.ToHashSet(), vms);
        Assert.Equal(jobs.Order(), (await world.Organisation(installationId).GetPendingJobs()).Select(p => p.JobId).Order());

        // Changes after the read move jobs between pages: a cancelled job's VM goes to the head of the line, a job joins its
        // end, and another job cancelled while waiting leaves the middle of the line.
        var cancelled = jobs[3];
        var heir = jobs[Slots];
        var leftLine = jobs[Slots + 100];
        var late = LifecycleCluster.NewJobId();
        await world.Job(cancelled).Apply(LifecycleCluster.JobEvent(cancelled, installationId, JobStatus.Completed, conclusion: "cancelled"));
        await world.Job(late).Apply(LifecycleCluster.JobEvent(late, installationId, JobStatus.Queued));
        await world.Job(leftLine).Apply(LifecycleCluster.JobEvent(leftLine, installationId, JobStatus.Completed, conclusion: "cancelled"));

        await Reactivate();

        var after = await world.Organisation(installationId).GetView();
        long[] line = [.. jobs.Skip(Slots + 1).Where(j => j != leftLine), late];
        Assert.Equal(line, after.WaitingJobIds);
        Assert.Equal(before.LeaseIds.Order(), after.LeaseIds.Order());
        Assert.Equal(Slots, world.Compute.Vms.Count(v => after.LeaseIds.Contains(v.LeaseId)));
        var pending = (await world.Organisation(installationId).GetPendingJobs()).Select(p => p.JobId).ToHashSet();
        Assert.Contains(heir, pending);
        Assert.DoesNotContain(cancelled, pending);
        Assert.DoesNotContain(leftLine, pending);
        Assert.Equal(Slots + line.Length, pending.Count);
    }

    [Fact]
    public async Task Records_of_pages_a_shrinking_line_left_are_emptied_by_the_tick_and_name_no_job_that_left()
    {
        // The cluster's limit is 2: every further job waits, 150 of them on three pages.
        var installationId = await world.InstallAsync();
        long[] jobs = [.. Enumerable.Range(0, 152).Select(_ => LifecycleCluster.NewJobId())];
        foreach (var jobId in jobs)
        {
            await world.Job(jobId).Apply(LifecycleCluster.JobEvent(jobId, installationId, JobStatus.Queued));
        }

        Assert.True((await StoredJobIdsAsync(installationId)).IsSupersetOf(jobs), "every job is stored before any leaves");

        // 140 waiting jobs are cancelled: the line fits on one page again, which the header keeps, and the records of
        // its old pages are no longer listed.
        var left = jobs.Skip(2).Take(140).ToHashSet();
        foreach (var jobId in left)
        {
            await world.Job(jobId).Apply(LifecycleCluster.JobEvent(jobId, installationId, JobStatus.Completed, conclusion: "cancelled"));
        }

        Assert.Equal(jobs.Skip(142), (await world.Organisation(installationId).GetView()).WaitingJobIds);
        var stored = await Eventually.Until(
            () => StoredJobIdsAsync(installationId),
            ids => !ids.Overlaps(left),
            "the tick empties the records no page is on");
        Assert.True(stored.IsSupersetOf(jobs.Skip(142)), "the jobs still waiting are stored");
    }

    /// <summary>Every job named anywhere in the organisation's stored records: its own and every page record it ever used.</summary>
    private async Task<HashSet<long>> StoredJobIdsAsync(long installationId)
    {
        var storage = world.Cluster.Silos[0].ServiceProvider.GetRequiredKeyedService<IGrainStorage>(StorageNames.Grains);
        var grainId = world.Organisation(installationId).GetGrainId();
        var header = new GrainState<OrganisationState>(new OrganisationState());
        await storage.ReadStateAsync("organisation", grainId, header);
        var pages = header.State!.Pages;
        var ids = pages.OnlyLinePage.Select(j => j.JobId).Concat(pages.FirstSlots.Values.Select(s => s.ForJob?.JobId ?? s.BoundJobId ?? 0)).ToHashSet();
        for (var record = 0; record < pages.Records; record++)
        {
            var page = new GrainState<OrganisationPage>(new OrganisationPage());
            await storage.ReadStateAsync($"organisation-page-{record}", grainId, page);
            ids.UnionWith(page.State!.Jobs.Select(j => j.JobId));
            ids.UnionWith(page.State.Slots.Values.Select(s => s.ForJob?.JobId ?? s.BoundJobId ?? 0));
        }

        return ids;
    }

    private async Task Reactivate() =>
        await world.Client.GetGrain<IManagementGrain>(0).ForceActivationCollection(TimeSpan.Zero);
}
