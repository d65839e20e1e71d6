using Builtiful.Jobs;
using Builtiful.Organisations;

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

    private async Task Reactivate() =>
        await world.Client.GetGrain<IManagementGrain>(0).ForceActivationCollection(TimeSpan.Zero);
}
