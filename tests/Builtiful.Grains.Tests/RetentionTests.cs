using Builtiful.Jobs;
using Builtiful.Leases;
using Builtiful.Organisations;
using Builtiful.Retention;
using Builtiful.Silo;
using Builtiful.Usage;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace Builtiful.Grains.Tests;

/// <summary>
/// Job metadata older than <c>Retention:JobMetadata</c> is deleted by one sweep per installation, driven here by the
/// fake clock; the sweep's reminder period is long, so each sweep is the test's own call and nothing races it.
/// </summary>
public sealed class RetentionTests(RetentionTests.Cluster world) : IClassFixture<RetentionTests.Cluster>
{
    public sealed class Cluster : LifecycleCluster
    {
        public const int MaxRecordsPerSweep = 4;

        protected override IReadOnlyDictionary<string, string?> Settings { get; } = new Dictionary<string, string?>
        {
            ["Retention:JobMetadata"] = "1.00:00:00",
            ["Retention:SweepPeriod"] = "1.00:00:00",
            ["Retention:MaxRecordsPerSweep"] = MaxRecordsPerSweep.ToString(System.Globalization.CultureInfo.InvariantCulture),
        };
    }

    [Fact]
    public async Task Finished_jobs_past_retention_are_deleted_everywhere_they_were_named_and_live_jobs_stay()
    {
        var installationId = await world.InstallAsync();
        var completed = LifecycleCluster.NewJobId();
        var refused = LifecycleCluster.NewJobId();
        var running = LifecycleCluster.NewJobId();

        var completedLease = await world.QueueAsync(completed, installationId);
        await world.LeaseReaches(completedLease, LeasePhase.Booting);
        await world.RunOnLeaseAsync(completed, installationId, completedLease);
        await world.Job(refused).Apply(LifecycleCluster.JobEvent(refused, installationId, JobStatus.Queued, repository: LifecycleCluster.PublicRepository(installationId), visibility: RepositoryVisibility.Public));
        var runningLease = await world.QueueAsync(running, installationId);
        await world.LeaseReaches(runningLease, LeasePhase.Booting);
        await world.Job(running).Apply(LifecycleCluster.JobEvent(running, installationId, JobStatus.InProgress, runnerName: RunnerNames.ForLease(runningLease)));
        await world.LeaseReaches(completedLease, LeasePhase.Terminated);
        var usageKey = UsageMonth.Key(installationId, UsageMonth.Of((await world.Job(completed).GetView())!.CompletedAt!.Value));
        Assert.Equal(LifecycleCluster.Repository(installationId), Assert.Single((await Usage(usageKey).GetRuns(0, 10)).Items).Repository);
        Assert.NotEmpty(await Retention(installationId).PendingHours());
        Assert.NotNull(await world.Reminders.ReadRow(Retention(installationId).GetGrainId(), RetentionGrain.Reminder));

        // Nothing is due before the age is reached.
        world.Clock.Advance(TimeSpan.FromHours(20));
        Assert.Equal(new RetentionReport(0, 0, 0, false), await Retention(installationId).Sweep());
        Assert.NotNull(await world.Job(completed).GetView());

        world.Clock.Advance(TimeSpan.FromHours(6));
        var report = await SweepAllAsync(installationId);

        Assert.Null(await world.Job(completed).GetView());
        Assert.Null(await world.Job(refused).GetView());
        var live = (await world.Job(running).GetView())!;
        Assert.Equal(JobStatus.InProgress, live.Status);
        Assert.Equal(LifecycleCluster.Repository(installationId), live.Repository);
        Assert.Equal(2, report.JobsDeleted);
        Assert.True(report.Kept >= 1, "the running job is kept");

        var endedLease = (await world.Lease(completedLease).GetView())!;
        Assert.Equal(LeasePhase.Terminated, endedLease.Phase);
        Assert.Null(endedLease.JobId);
        Assert.Equal(0, endedLease.LaunchedForJobId);
        Assert.Null(endedLease.EndReason);

        var run = Assert.Single((await Usage(usageKey).GetRuns(0, 10)).Items);
        Assert.Equal(completed, run.JobId);
        Assert.Null(run.Repository);
        Assert.True((await Usage(usageKey).GetView()).TotalMinutes >= 1, "billed minutes stay");

        var organisation = await world.Client.GetGrain<IOrganisationOperations>(installationId).GetJobs();
        Assert.DoesNotContain(completed, organisation.Pending.Select(p => p.JobId).Concat(organisation.Running));
        Assert.DoesNotContain(refused, organisation.Pending.Select(p => p.JobId).Concat(organisation.Running));
    }

    [Fact]
    public async Task A_job_that_never_finishes_is_kept_until_GitHub_can_no_longer_hold_it_and_then_deleted()
    {
        var installationId = await world.InstallAsync();
        var stuck = LifecycleCluster.NewJobId();
        await world.Job(stuck).Apply(LifecycleCluster.JobEvent(stuck, installationId, JobStatus.Queued));
        // It runs on a runner that is not ours, and its completed delivery never comes.
        await world.Job(stuck).Apply(LifecycleCluster.JobEvent(stuck, installationId, JobStatus.InProgress, runnerName: "GitHub Actions 5"));

        world.Clock.Advance(TimeSpan.FromDays(2));
        var early = await SweepAllAsync(installationId);
        Assert.Equal(JobStatus.InProgress, (await world.Job(stuck).GetView())!.Status);
        Assert.Equal(0, early.JobsDeleted);

        world.Clock.Advance(RetentionOptions.LongestWorkflowRun);
        var late = await SweepAllAsync(installationId);

        Assert.Equal(1, late.JobsDeleted);
        Assert.Null(await world.Job(stuck).GetView());
        Assert.DoesNotContain(stuck, (await world.Organisation(installationId).GetPendingJobs()).Select(p => p.JobId));
    }

    [Fact]
    public async Task One_sweep_does_bounded_work_and_the_next_carries_on()
    {
        var installationId = await world.InstallAsync();
        long[] jobs = [.. Enumerable.Range(0, Cluster.MaxRecordsPerSweep + 2).Select(_ => LifecycleCluster.NewJobId())];
        foreach (var jobId in jobs)
        {
            // Refused (public repository): a job record and no lease, so every record is a job.
            await world.Job(jobId).Apply(LifecycleCluster.JobEvent(jobId, installationId, JobStatus.Queued, repository: LifecycleCluster.PublicRepository(installationId), visibility: RepositoryVisibility.Public));
        }

        world.Clock.Advance(TimeSpan.FromDays(1) + TimeSpan.FromHours(2));
        var first = await Retention(installationId).Sweep();
        var second = await Retention(installationId).Sweep();

        Assert.Equal(new RetentionReport(Cluster.MaxRecordsPerSweep, 0, 0, true), first);
        Assert.Equal(new RetentionReport(2, 0, 0, false), second);
        foreach (var jobId in jobs)
        {
            Assert.Null(await world.Job(jobId).GetView());
        }

        Assert.Empty(await Retention(installationId).PendingHours());
    }

    [Theory]
    [InlineData("Retention:JobMetadata", "00:10:00", "Retention:JobMetadata is 00:10:00; it must be between 01:00:00")]
    [InlineData("Retention:JobMetadata", "4000.00:00:00", "Retention:JobMetadata is 4000.00:00:00")]
    [InlineData("Retention:SweepPeriod", "00:00:00", "Retention:SweepPeriod is 00:00:00")]
    [InlineData("Retention:MaxRecordsPerSweep", "0", "Retention:MaxRecordsPerSweep is 0")]
    public void Invalid_retention_settings_stop_start_up_with_the_key_and_the_allowed_range(string key, string value, string message)
    {
        var configuration = new ConfigurationBuilder().AddConfiguration(LifecycleCluster.Configuration)
            .AddInMemoryCollection(new Dictionary<string, string?> { [key] = value }).Build();
        using var services = new ServiceCollection().AddLogging().AddBuiltifulGrainServices(configuration).BuildServiceProvider();

        var error = Assert.Throws<OptionsValidationException>(() => services.GetRequiredService<IOptions<RetentionOptions>>().Value);

        Assert.Contains(message, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void The_default_keeps_job_metadata_for_ninety_days()
    {
        using var services = new ServiceCollection().AddLogging().AddBuiltifulGrainServices(LifecycleCluster.Configuration).BuildServiceProvider();

        var options = services.GetRequiredService<IOptions<RetentionOptions>>().Value;

        Assert.Equal(TimeSpan.FromDays(90), options.JobMetadata);
        Assert.Empty(options.Problems());
    }

    /// <summary>Sweeps until nothing due is left, checking that no sweep did more than its bound.</summary>
    private async Task<RetentionReport> SweepAllAsync(long installationId)
    {
        int jobs = 0, leases = 0, kept = 0;
        for (var sweeps = 0; sweeps < 100; sweeps++)
        {
            var report = await Retention(installationId).Sweep();
            Assert.True(report.JobsDeleted + report.LeasesDeleted + report.Kept <= Cluster.MaxRecordsPerSweep, "one sweep stays within its bound");
            jobs += report.JobsDeleted;
            leases += report.LeasesDeleted;
            kept += report.Kept;
            if (!report.MoreDue)
            {
                return new RetentionReport(jobs, leases, kept, false);
            }
        }

        throw new InvalidOperationException("The sweeps never finished.");
    }

    private IRetentionGrain Retention(long installationId) => world.Client.GetGrain<IRetentionGrain>(installationId);

    private IUsageGrain Usage(string key) => world.Client.GetGrain<IUsageGrain>(key);
}

/// <summary>The same sweep driven by its own reminder, as in production: nothing calls it but the reminder service.</summary>
public sealed class RetentionReminderTests(RetentionReminderTests.Cluster world) : IClassFixture<RetentionReminderTests.Cluster>
{
    public sealed class Cluster : LifecycleCluster
    {
        protected override IReadOnlyDictionary<string, string?> Settings { get; } = new Dictionary<string, string?>
        {
            ["Retention:JobMetadata"] = "1.00:00:00",
            ["Retention:SweepPeriod"] = "00:00:01",
        };
    }

    [Fact]
    public async Task The_installations_reminder_deletes_due_jobs_and_is_removed_once_nothing_is_left()
    {
        var installationId = await world.InstallAsync();
        var refused = LifecycleCluster.NewJobId();
        await world.Job(refused).Apply(LifecycleCluster.JobEvent(refused, installationId, JobStatus.Queued, repository: LifecycleCluster.PublicRepository(installationId), visibility: RepositoryVisibility.Public));
        var retention = world.Client.GetGrain<IRetentionGrain>(installationId);
        await Eventually.Until(() => world.Reminders.ReadRow(retention.GetGrainId(), RetentionGrain.Reminder), row => row is not null, "the reminder is armed");

        world.Clock.Advance(TimeSpan.FromDays(1) + TimeSpan.FromHours(2));

        await Eventually.Until(() => world.Job(refused).GetView(), view => view is null, "the reminder's sweep deletes the job");
        await Eventually.Until(() => world.Reminders.ReadRow(retention.GetGrainId(), RetentionGrain.Reminder), row => row is null, "the reminder is removed");
        Assert.Empty(await retention.PendingHours());
    }
}
