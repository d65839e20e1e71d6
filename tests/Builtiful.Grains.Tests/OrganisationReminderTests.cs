using Builtiful.Jobs;
using Builtiful.Leases;
using Builtiful.Machines;
using Builtiful.Organisations;
using Builtiful.Providers;
using Microsoft.Extensions.DependencyInjection;

namespace Builtiful.Grains.Tests;

/// <summary>
/// One reminder per organisation drives the deadlines of all its leases: it is there before any lease can launch,
/// it survives the organisation's deactivation, and it goes when no live lease is left. Leases stored by the earlier
/// design, with a reminder of their own, still have their deadlines enforced and drop that reminder once driven.
/// </summary>
public sealed class OrganisationReminderTests(OrganisationReminderTests.Cluster world) : IClassFixture<OrganisationReminderTests.Cluster>
{
    private const int Leases = 4;

    [Fact]
    public async Task Many_live_leases_of_one_organisation_have_exactly_one_reminder_and_their_deadlines_hold()
    {
        var installationId = await world.InstallAsync();
        var jobs = Enumerable.Range(0, Leases).Select(_ => LifecycleCluster.NewJobId()).ToList();
        var leases = new List<Guid>();
        foreach (var jobId in jobs)
        {
            var leaseId = await world.QueueAsync(jobId, installationId);
            await world.LeaseReaches(leaseId, LeasePhase.Booting);
            leases.Add(leaseId);
        }

        var organisation = world.Organisation(installationId).GetGrainId();
        var rows = (await world.Reminders.ReadRows(organisation)).Reminders;
        Assert.Equal(OrganisationGrain.LeaseReminder, Assert.Single(rows).ReminderName);
        foreach (var leaseId in leases)
        {
            Assert.Empty((await world.Reminders.ReadRows(world.Lease(leaseId).GetGrainId())).Reminders);
        }

        // Every job runs, so a passed boot deadline does not end them: only the maximum lifetime does, from the
        // organisation's reminder alone.
        foreach (var (jobId, leaseId) in jobs.Zip(leases))
        {
            await world.Job(jobId).Apply(LifecycleCluster.JobEvent(jobId, installationId, JobStatus.InProgress, runnerName: RunnerNames.ForLease(leaseId)));
        }

        world.Clock.Advance(TimeSpan.FromHours(6) + TimeSpan.FromSeconds(1));

        foreach (var leaseId in leases)
        {
            var ended = await world.LeaseReaches(leaseId, LeasePhase.Terminated);
            Assert.Contains("maximum lifetime", ended.EndReason, StringComparison.Ordinal);
            Assert.Equal(InstanceState.Terminated, await world.Compute.DescribeAsync(ended.InstanceId!, default));
        }

        await Eventually.Until(() => world.Reminders.ReadRow(organisation, OrganisationGrain.LeaseReminder), row => row is null, "the idle organisation's reminder is removed");
        Assert.Equal(0, (await world.Organisation(installationId).GetView()).LiveLeases);

        // The next lease arms it again before it launches.
        var next = await world.QueueAsync(LifecycleCluster.NewJobId(), installationId);
        Assert.NotNull(await world.Reminders.ReadRow(organisation, OrganisationGrain.LeaseReminder));
        await world.LeaseReaches(next, LeasePhase.Booting);
    }

    [Fact]
    public async Task A_deactivated_organisation_is_brought_back_by_its_reminder_and_its_leases_still_meet_their_deadlines()
    {
        var installationId = await world.InstallAsync();
        var jobId = LifecycleCluster.NewJobId();
        var leaseId = await world.QueueAsync(jobId, installationId);
        var booting = await world.LeaseReaches(leaseId, LeasePhase.Booting);

        // A failed call deactivates the organisation; nothing but its reminder calls it afterwards.
        await Assert.ThrowsAnyAsync<ArgumentNullException>(() => world.Organisation(installationId).ApplyInstallation(null!));
        world.Clock.Advance(TimeSpan.FromMinutes(10) + TimeSpan.FromSeconds(1));

        var ended = await world.LeaseReaches(leaseId, LeasePhase.Terminated);
        Assert.Contains("boot deadline", ended.EndReason, StringComparison.Ordinal);
        Assert.Equal(InstanceState.Terminated, await world.Compute.DescribeAsync(booting.InstanceId!, default));
    }

    [Fact]
    public async Task An_organisation_stored_with_live_leases_but_no_reminder_registers_it_when_it_activates()
    {
        // As an organisation of the earlier design is stored: live leases, whose own reminders drove them.
        var installationId = await world.InstallAsync();
        var leaseId = await world.QueueAsync(LifecycleCluster.NewJobId(), installationId);
        await world.LeaseReaches(leaseId, LeasePhase.Booting);
        var organisation = world.Organisation(installationId).GetGrainId();
        var row = await world.Reminders.ReadRow(organisation, OrganisationGrain.LeaseReminder);
        Assert.True(await world.Reminders.RemoveRow(organisation, OrganisationGrain.LeaseReminder, row!.ETag!));
        await Assert.ThrowsAnyAsync<ArgumentNullException>(() => world.Organisation(installationId).ApplyInstallation(null!));

        Assert.Equal(1, (await world.Organisation(installationId).GetView()).LiveLeases);

        Assert.NotNull(await world.Reminders.ReadRow(organisation, OrganisationGrain.LeaseReminder));
    }

    [Fact]
    public async Task A_lease_whose_request_failed_stays_recorded_under_the_reminder_and_is_requested_again_by_its_tick()
    {
        var installationId = await world.InstallAsync();
        var jobId = LifecycleCluster.NewJobId();
        world.Lost.Fail(nameof(IVmLeaseGrain.Request));
        Guid leaseId;
        try
        {
            await Assert.ThrowsAnyAsync<Exception>(() => world.Job(jobId).Apply(LifecycleCluster.JobEvent(jobId, installationId, JobStatus.Queued)));

            // The slot was stored, and the reminder registered, before the request that failed.
            var organisation = await world.Organisation(installationId).GetView();
            leaseId = Assert.Single(organisation.LeaseIds);
            Assert.Null(await world.Lease(leaseId).GetView());
            Assert.NotNull(await world.Reminders.ReadRow(world.Organisation(installationId).GetGrainId(), OrganisationGrain.LeaseReminder));
        }
        finally
        {
            world.Lost.Succeed(nameof(IVmLeaseGrain.Request));
        }

        // No redelivery: the organisation's own tick finds the lease never stored and requests it again.
        var booting = await Eventually.Until(() => world.Lease(leaseId).GetView(), v => v?.Phase == LeasePhase.Booting, "the lease is requested again and launches");
        Assert.Equal(jobId, booting!.LaunchedForJobId);

        world.Clock.Advance(TimeSpan.FromMinutes(10) + TimeSpan.FromSeconds(1));
        var ended = await world.LeaseReaches(leaseId, LeasePhase.Terminated);
        Assert.Contains("boot deadline", ended.EndReason, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_check_of_a_lease_never_stored_says_so_and_an_ended_lease_tells_its_organisation_again()
    {
        Assert.Equal(LeaseCheck.Unknown, await world.Lease(Guid.NewGuid()).Check());

        var installationId = await world.InstallAsync();
        world.Lost.Lose(nameof(IOrganisationGrain.LeaseEnded), installationId);
        var jobId = LifecycleCluster.NewJobId();
        var leaseId = await world.QueueAsync(jobId, installationId);
        await world.LeaseReaches(leaseId, LeasePhase.Booting);
        await world.RunOnLeaseAsync(jobId, installationId, leaseId);
        await world.LeaseReaches(leaseId, LeasePhase.Terminated);
        Assert.Contains(leaseId, (await world.Organisation(installationId).GetView()).LeaseIds);

        world.Lost.Deliver(nameof(IOrganisationGrain.LeaseEnded), installationId);

        // The organisation's next tick checks the ended lease, which repeats its notice: the slot is freed.
        await Eventually.Until(() => world.Organisation(installationId).GetView(), o => o.LiveLeases == 0, "the repeated notice frees the slot");
        Assert.Equal(LeaseCheck.Ended, await world.Lease(leaseId).Check());
    }

    public sealed class Cluster : LifecycleCluster
    {
        protected override IReadOnlyDictionary<string, string?> Settings { get; } = new Dictionary<string, string?>
        {
            ["Organisations:MaxConcurrentVms"] = Leases.ToString(System.Globalization.CultureInfo.InvariantCulture),
        };
    }
}
