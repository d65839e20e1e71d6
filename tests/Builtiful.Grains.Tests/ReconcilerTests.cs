using Builtiful.Jobs;
using Builtiful.Leases;
using Builtiful.Providers;
using Builtiful.Reconciliation;
using Builtiful.Simulation;
using Microsoft.Extensions.Configuration;

namespace Builtiful.Grains.Tests;

/// <summary>The sweep that assumes everything else failed: the cloud's instances against the leases, judged by the simulated cloud's record.</summary>
public sealed class ReconcilerTests(ReconcilerCluster world) : IClassFixture<ReconcilerCluster>
{
    private IReconcilerGrain Reconciler => world.Client.GetGrain<IReconcilerGrain>(SimulatedComputeProvider.ProviderName);

    [Fact]
    public async Task An_instance_of_this_cluster_with_no_lease_behind_it_survives_the_first_sweep_and_is_terminated_by_the_second()
    {
        var orphan = await LaunchStrayAsync(world, Guid.NewGuid(), LifecycleCluster.Epoch.AddHours(6));

        var first = await Reconciler.Sweep();
        Assert.Contains(orphan, first.NewSuspects);
        Assert.NotEqual(InstanceState.Terminated, await world.Compute.DescribeAsync(orphan, default));

        var second = await SweepAfterGapAsync();

        Assert.Contains(second.Reasons, r => r.StartsWith(orphan, StringComparison.Ordinal) && r.Contains("does not exist", StringComparison.Ordinal));
        Assert.Equal(InstanceState.Terminated, await world.Compute.DescribeAsync(orphan, default));
    }

    [Fact]
    public async Task A_second_sweep_before_the_gap_terminates_nothing()
    {
        var orphan = await LaunchStrayAsync(world, Guid.NewGuid(), LifecycleCluster.Epoch.AddHours(6));

        await Reconciler.Sweep();
        var early = await Reconciler.Sweep();

        Assert.DoesNotContain(early.Reasons, r => r.StartsWith(orphan, StringComparison.Ordinal));
        Assert.NotEqual(InstanceState.Terminated, await world.Compute.DescribeAsync(orphan, default));
        await SweepAfterGapAsync();
        Assert.Equal(InstanceState.Terminated, await world.Compute.DescribeAsync(orphan, default));
    }

    [Fact]
    public async Task A_second_instance_of_a_live_lease_is_terminated_and_the_leases_own_VM_is_kept()
    {
        var installationId = await world.InstallAsync();
        var leaseId = await world.QueueAsync(LifecycleCluster.NewJobId(), installationId);
        var lease = await world.LeaseReaches(leaseId, LeasePhase.Booting);
        var stray = await LaunchStrayAsync(world, leaseId, lease.ExpiresAt!.Value);

        await Reconciler.Sweep();
        var report = await SweepAfterGapAsync();

        Assert.Contains(report.Reasons, r => r.StartsWith(stray, StringComparison.Ordinal));
        Assert.Equal(InstanceState.Terminated, await world.Compute.DescribeAsync(stray, default));
        Assert.NotEqual(InstanceState.Terminated, await world.Compute.DescribeAsync(lease.InstanceId!, default));
        Assert.DoesNotContain(report.Reasons, r => r.StartsWith(lease.InstanceId!, StringComparison.Ordinal));
    }

    [Fact]
    public async Task An_instance_past_its_deadline_plus_one_period_is_terminated_whatever_its_lease_says()
    {
        var installationId = await world.InstallAsync();
        var jobId = LifecycleCluster.NewJobId();
        var leaseId = await world.QueueAsync(jobId, installationId);
        await world.LeaseReaches(leaseId, LeasePhase.Booting);
        await world.Job(jobId).Apply(LifecycleCluster.JobEvent(jobId, installationId, JobStatus.InProgress, runnerName: RunnerNames.ForLease(leaseId)));
        var stale = await LaunchStrayAsync(world, Guid.NewGuid(), world.Clock.GetUtcNow().AddMinutes(-30));

        await Reconciler.Sweep();
        var report = await SweepAfterGapAsync();

        Assert.Contains(report.Reasons, r => r.StartsWith(stale, StringComparison.Ordinal) && r.Contains("past its deadline", StringComparison.Ordinal));
        Assert.Equal(InstanceState.Terminated, await world.Compute.DescribeAsync(stale, default));
    }

    [Fact]
    public async Task A_lease_that_throws_on_its_view_is_counted_and_left_alone_and_the_rest_of_the_sweep_goes_on()
    {
        var broken = Guid.NewGuid();
        world.Views.Fail(broken);
        var spared = await LaunchStrayAsync(world, broken, LifecycleCluster.Epoch.AddHours(6));
        var orphans = new[] { await LaunchStrayAsync(world, Guid.NewGuid(), LifecycleCluster.Epoch.AddHours(6)), await LaunchStrayAsync(world, Guid.NewGuid(), LifecycleCluster.Epoch.AddHours(6)) };

        var first = await Reconciler.Sweep();
        var second = await SweepAfterGapAsync();

        Assert.True(first.ChecksFailed >= 1 && second.ChecksFailed >= 1);
        Assert.DoesNotContain(spared, first.NewSuspects);
        Assert.Contains(broken, world.Views.Asked);
        foreach (var orphan in orphans)
        {
            Assert.Equal(InstanceState.Terminated, await world.Compute.DescribeAsync(orphan, default));
        }

        Assert.NotEqual(InstanceState.Terminated, await world.Compute.DescribeAsync(spared, default));
    }

    [Fact]
    public async Task Instances_of_another_cluster_are_never_touched()
    {
        var foreign = await LaunchStrayAsync(world, Guid.NewGuid(), LifecycleCluster.Epoch.AddHours(-6), cluster: "staging");
        var untagged = await LaunchStrayAsync(world, Guid.NewGuid(), LifecycleCluster.Epoch.AddHours(-6), cluster: null);

        for (var i = 0; i < 3; i++)
        {
            var report = await SweepAfterGapAsync();
            Assert.DoesNotContain(report.Reasons, r => r.StartsWith(foreign, StringComparison.Ordinal) || r.StartsWith(untagged, StringComparison.Ordinal));
        }

        Assert.NotEqual(InstanceState.Terminated, await world.Compute.DescribeAsync(foreign, default));
        Assert.NotEqual(InstanceState.Terminated, await world.Compute.DescribeAsync(untagged, default));
    }

    private Task<SweepReport> SweepAfterGapAsync()
    {
        world.Clock.Advance(TimeSpan.Parse(ReconcilerCluster.ConfirmationGap, System.Globalization.CultureInfo.InvariantCulture));
        return Reconciler.Sweep();
    }

    /// <summary>An instance made behind the control plane's back, as a lost launch answer or a bug would leave one.</summary>
    internal static async Task<string> LaunchStrayAsync(LifecycleCluster world, Guid leaseId, DateTimeOffset expiresAt, string? cluster = SimulatedComputeProvider.DefaultClusterName)
    {
        var catalogue = new Machines.MachineCatalogue(LifecycleCluster.Configuration.GetSection("MachineCatalogue").Get<Machines.MachineCatalogueOptions>()!);
        var tags = new Dictionary<string, string>
        {
            [InstanceTags.Lease] = leaseId.ToString("N"),
            [InstanceTags.ExpiresAt] = expiresAt.ToString("O"),
        };
        if (cluster is not null)
        {
            tags[InstanceTags.Cluster] = cluster;
        }

        var launched = await world.Compute.LaunchAsync(new LaunchRequest
        {
            LeaseId = leaseId,
            InstallationId = 1,
            JobId = 1,
            MachineType = catalogue.All.First(),
            ClientToken = Guid.NewGuid().ToString("N"),
            Claim = new ClaimTicket(LifecycleCluster.ClaimUrl, ClaimTokens.For(LifecycleCluster.ClaimKey, leaseId, 1)),
            ExpiresAt = expiresAt.AddDays(1),
            Tags = tags,
        }, default);
        return launched.InstanceId;
    }
}

/// <summary>More live instances than one sweep may visit: the rotating cursor reaches them all.</summary>
public sealed class ReconcilerCursorTests(LargeFleetCluster world) : IClassFixture<LargeFleetCluster>
{
    [Fact]
    public async Task Two_thousand_five_hundred_instances_are_all_visited_within_three_sweeps_and_all_terminated_within_six()
    {
        var reconciler = world.Client.GetGrain<IReconcilerGrain>(SimulatedComputeProvider.ProviderName);
        var leases = Enumerable.Range(0, 2500).Select(_ => Guid.NewGuid()).ToList();
        var instances = new List<string>();
        foreach (var lease in leases)
        {
            instances.Add(await ReconcilerTests.LaunchStrayAsync(world, lease, LifecycleCluster.Epoch.AddHours(6)));
        }

        for (var sweep = 0; sweep < 3; sweep++)
        {
            var report = await reconciler.Sweep();
            Assert.Equal(1000, report.InstancesExamined);
            Assert.True(report.Truncated);
            world.Clock.Advance(TimeSpan.FromMinutes(1));
        }

        Assert.Empty(leases.Except(world.Views.Asked));

        for (var sweep = 3; sweep < 6; sweep++)
        {
            await reconciler.Sweep();
            world.Clock.Advance(TimeSpan.FromMinutes(1));
        }

        var states = await world.Compute.DescribeManyAsync(instances, default);
        Assert.All(instances, i => Assert.Equal(InstanceState.Terminated, states[i]));
    }
}
