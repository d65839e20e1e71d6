using Builtiful.Jobs;
using Builtiful.Leases;
using Builtiful.Organisations;
using Microsoft.Extensions.DependencyInjection;

namespace Builtiful.Grains.Tests;

/// <summary>
/// The organisation's deadline reminder goes when a tick finds no lease left; admissions interleave with that tick, so
/// a job can be admitted while the removal is on its way to the reminder table. Its lease must still have its
/// deadlines driven: judged by the reminder table's own record, and by the lease ending at its boot deadline.
/// </summary>
public sealed class ReminderRemovalRaceTests(ReminderRemovalRaceTests.Cluster world) : IClassFixture<ReminderRemovalRaceTests.Cluster>
{
    [Fact]
    public async Task A_job_admitted_while_the_idle_organisations_reminder_is_being_removed_keeps_its_deadlines()
    {
        var installationId = await world.InstallAsync();
        var organisation = world.Organisation(installationId).GetGrainId();

        // A first job runs to its end: the organisation is left with no lease, and its next tick removes the reminder.
        var first = LifecycleCluster.NewJobId();
        var firstLease = await world.QueueAsync(first, installationId);
        await world.LeaseReaches(firstLease, LeasePhase.Booting);
        var removal = world.Table.HoldNextRemoval(organisation);
        await world.RunOnLeaseAsync(first, installationId, firstLease);
        await world.LeaseReaches(firstLease, LeasePhase.Terminated);

        // The removal has reached the table and waits there; a new job is admitted meanwhile.
        await removal.Entered.Task.WaitAsync(TimeSpan.FromSeconds(60));
        var second = LifecycleCluster.NewJobId();
        var queued = world.Job(second).Apply(LifecycleCluster.JobEvent(second, installationId, JobStatus.Queued));
        await Eventually.Until(async () => (await world.Organisation(installationId).GetView()).LiveLeases, n => n == 1, "the second job is admitted");
        removal.Release();
        Assert.Equal(JobEventOutcome.Applied, await queued);

        // The table holds the reminder again once the removal is through.
        var leaseId = Assert.Single((await world.Organisation(installationId).GetView()).LeaseIds);
        var booting = await world.LeaseReaches(leaseId, LeasePhase.Booting);
        await Eventually.Until(() => world.Reminders.ReadRow(organisation, OrganisationGrain.LeaseReminder), row => row is not null, "the reminder is registered again");

        // And it drives the lease: its VM never boots here, so the boot deadline ends it.
        world.Clock.Advance(TimeSpan.FromMinutes(10) + TimeSpan.FromSeconds(1));
        var ended = await world.LeaseReaches(leaseId, LeasePhase.Terminated);
        Assert.Contains("boot deadline", ended.EndReason, StringComparison.Ordinal);
        Assert.Equal(Providers.InstanceState.Terminated, await world.Compute.DescribeAsync(booting.InstanceId!, default));
    }

    public sealed class Cluster : LifecycleCluster
    {
        public HoldingReminders Table { get; private set; } = null!;

        protected override void ConfigureSilo(IServiceCollection services)
        {
            DecorateReminderTable(services, inner => Table = new HoldingReminders(inner));
        }
    }

    /// <summary>A reminder table whose next removal of a grain's reminder waits until the test releases it.</summary>
    public sealed class HoldingReminders(IReminderTable inner) : IReminderTable
    {
        private (GrainId Grain, Hold Hold)? _hold;

        public Hold HoldNextRemoval(GrainId grainId)
        {
            var hold = new Hold();
            _hold = (grainId, hold);
            return hold;
        }

        public Task StartAsync(CancellationToken cancellationToken = default) => inner.StartAsync(cancellationToken);

        public Task StopAsync(CancellationToken cancellationToken = default) => inner.StopAsync(cancellationToken);

        public Task<ReminderTableData> ReadRows(GrainId grainId) => inner.ReadRows(grainId);

        public Task<ReminderTableData> ReadRows(uint begin, uint end) => inner.ReadRows(begin, end);

        public Task<ReminderEntry?> ReadRow(GrainId grainId, string reminderName) => inner.ReadRow(grainId, reminderName);

        public Task<string?> UpsertRow(ReminderEntry entry) => inner.UpsertRow(entry);

        public async Task<bool> RemoveRow(GrainId grainId, string reminderName, string eTag)
        {
            if (_hold is { } hold && hold.Grain == grainId)
            {
                _hold = null;
                hold.Hold.Entered.TrySetResult();
                await hold.Hold.Released.Task;
            }

            return await inner.RemoveRow(grainId, reminderName, eTag);
        }

        public Task TestOnlyClearTable() => inner.TestOnlyClearTable();
    }

    public sealed class Hold
    {
        public TaskCompletionSource Entered { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public TaskCompletionSource Released { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public void Release() => Released.TrySetResult();
    }
}
