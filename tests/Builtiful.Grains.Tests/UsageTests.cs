using Builtiful.Usage;
using Microsoft.Extensions.DependencyInjection;
using Orleans.Serialization;
using Orleans.Storage;
using Xunit.Abstractions;

namespace Builtiful.Grains.Tests;

/// <summary>
/// Usage is counted by hour shards and summed by the month: counting stays idempotent by job id across hours and
/// months, the month's totals are the sum of its runs, and runs page newest first across shard boundaries.
/// </summary>
public sealed class UsageTests(LifecycleCluster world, ITestOutputHelper output) : IClassFixture<LifecycleCluster>
{
    private const string Small = "builtiful-2vcpu-ubuntu-2404";
    private const string Large = "builtiful-8vcpu-ubuntu-2404";

    private static long NewInstallation() => Random.Shared.NextInt64(1, long.MaxValue);

    private static JobRun Run(long jobId, DateTimeOffset completedAt, string machineType = Small, int minutes = 3, int queueSeconds = 20,
        string? conclusion = "success", string? repository = "octo-org/octo-repo") => new()
        {
            JobId = jobId,
            MachineType = machineType,
            LeaseId = Guid.NewGuid(),
            QueuedAt = completedAt.AddMinutes(-minutes).AddSeconds(-queueSeconds),
            StartedAt = completedAt.AddMinutes(-minutes),
            CompletedAt = completedAt,
            Conclusion = conclusion,
            Repository = repository,
            BillableMinutes = minutes,
        };

    private Task<bool> Record(long installationId, JobRun run) =>
        world.Client.GetGrain<IUsageHourGrain>(UsageHour.Key(installationId, run.CompletedAt)).Record(run);

    private IUsageGrain Month(long installationId, string month) => world.Client.GetGrain<IUsageGrain>(UsageMonth.Key(installationId, month));

    [Fact]
    public async Task Recording_is_idempotent_by_job_id_across_hours_and_a_month_boundary()
    {
        var installationId = NewInstallation();
        var runs = new[]
        {
            Run(1, new DateTimeOffset(2026, 3, 31, 22, 5, 0, TimeSpan.Zero)),
            Run(2, new DateTimeOffset(2026, 3, 31, 23, 59, 59, TimeSpan.Zero), Large, minutes: 7),
            Run(3, new DateTimeOffset(2026, 4, 1, 0, 0, 0, TimeSpan.Zero), minutes: 2),
        };

        foreach (var run in runs)
        {
            Assert.True(await Record(installationId, run));
        }

        foreach (var run in runs)
        {
            Assert.False(await Record(installationId, run), $"job {run.JobId} redelivered must not be billed twice");
        }

        var march = await Month(installationId, "2026-03").GetView();
        Assert.Equal(2, march.Jobs);
        Assert.Equal(3, march.Minutes[Small]);
        Assert.Equal(7, march.Minutes[Large]);
        var april = await Month(installationId, "2026-04").GetView();
        Assert.Equal(1, april.Jobs);
        Assert.Equal(2, april.TotalMinutes);
        Assert.Equal([2, 1], (await Month(installationId, "2026-03").GetRuns(0, 10)).Items.Select(r => r.JobId));
    }

    [Fact]
    public async Task The_month_totals_are_the_sum_of_its_runs()
    {
        var installationId = NewInstallation();
        var start = new DateTimeOffset(2026, 5, 3, 4, 0, 0, TimeSpan.Zero);
        string?[] conclusions = ["success", "failure", null, "cancelled"];
        for (var i = 0; i < 24; i++)
        {
            var run = Run(100 + i, start.AddMinutes(17 * i), i % 3 == 0 ? Large : Small, minutes: 1 + (i % 5), queueSeconds: 5 + (7 * i),
                conclusion: conclusions[i % conclusions.Length]);
            Assert.True(await Record(installationId, run));
        }

        var view = await Month(installationId, "2026-05").GetView();
        var runs = (await Month(installationId, "2026-05").GetRuns(0, 100)).Items;
        Assert.Equal(24, runs.Count);
        Assert.Equal(runs.Count, view.Jobs);
        Assert.Equal(runs.GroupBy(r => r.MachineType).ToDictionary(g => g.Key, g => g.Sum(r => r.BillableMinutes)), view.Minutes);
        Assert.Equal(runs.GroupBy(r => r.MachineType).ToDictionary(g => g.Key, g => g.Count()), view.JobsByMachineType);
        Assert.Equal(runs.GroupBy(r => r.Conclusion ?? "unknown").ToDictionary(g => g.Key, g => g.Count()), view.Conclusions);
        var queueTimes = runs.Select(r => r.StartedAt - r.QueuedAt!.Value).Order().ToList();
        Assert.Equal(TimeSpan.FromTicks((long)queueTimes.Average(t => t.Ticks)), view.QueueTimeAverage);
        Assert.Equal(TimeSpan.FromTicks((long)runs.Average(r => (r.CompletedAt - r.StartedAt).Ticks)), view.DurationAverage);

        // The median comes from a histogram whose buckets are at most ~19 % wide.
        var exact = queueTimes[(queueTimes.Count - 1) / 2];
        var p50 = Assert.IsType<TimeSpan>(view.QueueTimeP50);
        Assert.InRange(p50.TotalSeconds, exact.TotalSeconds / 1.19, exact.TotalSeconds * 1.19);
    }

    [Fact]
    public async Task Runs_page_newest_first_across_hour_shards()
    {
        var installationId = NewInstallation();
        var start = new DateTimeOffset(2026, 6, 10, 8, 0, 0, TimeSpan.Zero);
        var runs = new List<JobRun>();
        // Three, then four, then (after an empty hour) two jobs.
        foreach (var (hour, count) in new[] { (0, 3), (1, 4), (3, 2) })
        {
            for (var i = 0; i < count; i++)
            {
                runs.Add(Run(1000 + runs.Count, start.AddHours(hour).AddMinutes(5 + (11 * i))));
            }
        }

        foreach (var run in runs.OrderBy(_ => Random.Shared.Next()))
        {
            Assert.True(await Record(installationId, run));
        }

        var expected = runs.OrderByDescending(r => r.CompletedAt).Select(r => r.JobId).ToList();
        var month = Month(installationId, "2026-06");
        for (var offset = 0; offset <= runs.Count; offset++)
        {
            var page = await month.GetRuns(offset, 3);
            Assert.Equal(runs.Count, page.Total);
            Assert.Equal(expected.Skip(offset).Take(3), page.Items.Select(r => r.JobId));
        }

        Assert.Equal(expected, (await month.GetRuns(0, 100)).Items.Select(r => r.JobId));
        Assert.Empty((await month.GetRuns(2, 0)).Items);
    }

    [Fact]
    public async Task The_month_is_read_back_from_its_days_after_deactivation()
    {
        var installationId = NewInstallation();
        JobRun[] runs =
        [
            Run(31, new DateTimeOffset(2026, 12, 1, 0, 10, 0, TimeSpan.Zero), minutes: 2),
            Run(32, new DateTimeOffset(2026, 12, 17, 13, 0, 0, TimeSpan.Zero), Large, minutes: 5),
            Run(33, new DateTimeOffset(2026, 12, 31, 23, 59, 0, TimeSpan.Zero), minutes: 1),
        ];
        foreach (var run in runs)
        {
            Assert.True(await Record(installationId, run));
        }

        await world.Client.GetGrain<IManagementGrain>(0).ForceActivationCollection(TimeSpan.Zero);

        var month = Month(installationId, "2026-12");
        var view = await month.GetView();
        Assert.Equal(3, view.Jobs);
        Assert.Equal(3, view.Minutes[Small]);
        Assert.Equal(5, view.Minutes[Large]);
        Assert.Equal([33, 32, 31], (await month.GetRuns(0, 10)).Items.Select(r => r.JobId));
        Assert.False(await Record(installationId, runs[1]), "still counted once after reactivation");
    }

    [Fact]
    public async Task A_retried_record_after_the_shard_wrote_but_the_month_did_not_converges()
    {
        var installationId = NewInstallation();
        var run = Run(7, new DateTimeOffset(2026, 7, 4, 12, 30, 0, TimeSpan.Zero), minutes: 4);
        var month = Month(installationId, "2026-07");

        // The shard's write is stored, and its push to the month fails (the month's silo died): the caller sees the failure.
        world.Lost.Fail(nameof(IUsageGrain.ReportHour));
        try
        {
            await Assert.ThrowsAnyAsync<Exception>(() => Record(installationId, run));
        }
        finally
        {
            world.Lost.Succeed(nameof(IUsageGrain.ReportHour));
        }

        Assert.Equal(0, (await month.GetView()).Jobs);

        Assert.False(await Record(installationId, run), "the retry must not count the job twice");
        var view = await month.GetView();
        Assert.Equal(1, view.Jobs);
        Assert.Equal(4, view.TotalMinutes);
        Assert.Equal(TimeSpan.FromSeconds(20), view.QueueTimeP50);
    }

    [Fact]
    public async Task A_month_whose_open_hour_was_not_settled_asks_the_hours_shard_before_it_answers()
    {
        var installationId = NewInstallation();
        var at = new DateTimeOffset(2026, 9, 2, 16, 0, 0, TimeSpan.Zero);
        var runs = new[] { Run(41, at, minutes: 2), Run(42, at.AddMinutes(3), minutes: 5), Run(43, at.AddMinutes(9), Large, minutes: 1) };
        foreach (var run in runs)
        {
            Assert.True(await Record(installationId, run));
        }

        // The month stored the hour once, as open, with the first job's totals; the later reports were kept in memory.
        // Both activations now end and the shard's settled report is lost, as when their silo dies.
        // The shard reports from its OnDeactivateAsync: the loss is lifted only once that report was seen to fail, so a
        // report still on its way when the collection returns cannot slip through, nor fail later under the month's read.
        var dropped = world.Lost.Dropped;
        world.Lost.Fail(nameof(IUsageGrain.ReportHour));
        try
        {
            await world.Client.GetGrain<IManagementGrain>(0).ForceActivationCollection(TimeSpan.Zero);
            await Eventually.Until(() => Task.FromResult(world.Lost.Dropped), d => d > dropped, "the shard's settled report is lost");
        }
        finally
        {
            world.Lost.Succeed(nameof(IUsageGrain.ReportHour));
        }

        // A new month activation reads one job stored for the hour; the shard, read back from storage, has three.
        var month = Month(installationId, "2026-09");
        var view = await month.GetView();
        Assert.Equal(3, view.Jobs);
        Assert.Equal(2 + 5, view.Minutes[Small]);
        Assert.Equal(1, view.Minutes[Large]);
        var listed = await month.GetRuns(0, 10);
        Assert.Equal(3, listed.Total);
        Assert.Equal([43, 42, 41], listed.Items.Select(r => r.JobId));
    }

    [Fact]
    public async Task Totals_of_fewer_jobs_arriving_late_at_the_month_change_nothing()
    {
        var installationId = NewInstallation();
        var at = new DateTimeOffset(2026, 7, 9, 8, 0, 0, TimeSpan.Zero);
        Assert.True(await Record(installationId, Run(21, at, minutes: 2)));
        Assert.True(await Record(installationId, Run(22, at.AddMinutes(5), minutes: 3)));

        // Pushes of one hour interleave; one taken before the last job was counted may arrive after the newer one.
        var month = Month(installationId, "2026-07");
        await month.SetHour(UsageHour.IndexInMonth(at), new UsageHourTotals { Jobs = 1, Minutes = new Dictionary<string, long> { [Small] = 2 } });
        await world.Client.GetGrain<IManagementGrain>(0).ForceActivationCollection(TimeSpan.Zero);

        var view = await month.GetView();
        Assert.Equal(2, view.Jobs);
        Assert.Equal(5, view.TotalMinutes);
    }

    [Fact]
    public async Task Retention_forgets_the_repository_on_the_shard_and_keeps_the_minutes()
    {
        var installationId = NewInstallation();
        var run = Run(9, new DateTimeOffset(2026, 8, 1, 0, 45, 0, TimeSpan.Zero), minutes: 5);
        Assert.True(await Record(installationId, run));
        var shard = world.Client.GetGrain<IUsageHourGrain>(UsageHour.Key(installationId, run.CompletedAt));

        Assert.True(await shard.ForgetRepository(run.JobId));
        Assert.False(await shard.ForgetRepository(run.JobId), "nothing is left to forget");
        Assert.False(await shard.ForgetRepository(12345), "an unknown job changes nothing");
        var kept = Assert.Single((await Month(installationId, "2026-08").GetRuns(0, 10)).Items);
        Assert.Null(kept.Repository);
        Assert.Equal(5, kept.BillableMinutes);
        Assert.Equal(5, (await Month(installationId, "2026-08").GetView()).TotalMinutes);
    }

    [Fact]
    public async Task A_run_from_another_hour_is_refused()
    {
        var installationId = NewInstallation();
        var run = Run(11, new DateTimeOffset(2026, 9, 1, 10, 0, 0, TimeSpan.Zero));
        var wrong = world.Client.GetGrain<IUsageHourGrain>(UsageHour.Key(installationId, run.CompletedAt.AddHours(-1)));
        var error = await Assert.ThrowsAsync<ArgumentException>(() => wrong.Record(run));
        Assert.Contains("outside usage hour", error.Message, StringComparison.Ordinal);
        Assert.Equal(0, (await Month(installationId, "2026-09").GetView()).Jobs);
    }

    [Fact]
    public void The_median_is_exact_for_equal_queue_times_and_within_a_bucket_otherwise()
    {
        var equal = UsageHourTotals.Of(Enumerable.Repeat((Small, 1L, (string?)"success", (TimeSpan?)TimeSpan.FromSeconds(45), TimeSpan.FromMinutes(1)), 3));
        Assert.Equal(TimeSpan.FromSeconds(45), QueueBucket.Median(equal.QueueHistogram));
        Assert.Null(QueueBucket.Median(UsageHourTotals.Of([]).QueueHistogram));

        var spread = Enumerable.Range(1, 999).Select(i => TimeSpan.FromSeconds(i * 1.7)).ToList();
        var totals = UsageHourTotals.Of(spread.Select(q => (Small, 1L, (string?)null, (TimeSpan?)q, TimeSpan.Zero)));
        var exact = spread.Order().ToList()[(spread.Count - 1) / 2];
        Assert.InRange(QueueBucket.Median(totals.QueueHistogram)!.Value.TotalSeconds, exact.TotalSeconds / 1.19, exact.TotalSeconds * 1.19);
        Assert.Equal(0, QueueBucket.Of(TimeSpan.FromMilliseconds(999)));
        Assert.Equal(1, QueueBucket.Of(TimeSpan.FromSeconds(1)));
    }

    [Fact]
    public async Task An_hour_kept_up_to_date_job_by_job_totals_what_adding_up_all_its_jobs_gives()
    {
        var installationId = NewInstallation();
        var start = new DateTimeOffset(2026, 10, 7, 9, 0, 0, TimeSpan.Zero);
        var runs = Enumerable.Range(0, 40).Select(i => Run(1_000 + i, start.AddSeconds(i * 60),
            machineType: i % 3 == 0 ? Large : Small, minutes: 1 + i % 7, queueSeconds: 1 + i * 13 % 300,
            conclusion: (i % 5) switch { 0 => "failure", 1 => null, _ => "success" })).ToList();
        foreach (var run in runs)
        {
            Assert.True(await Record(installationId, run));
        }

        Assert.False(await Record(installationId, runs[7])); // a retried record adds nothing

        var expected = UsageHourGrain.Totals(runs.Select(CountedJob.From));
        var view = await Month(installationId, "2026-10").GetView();
        Assert.Equal(40, view.Jobs);
        Assert.Equal(expected.Minutes.OrderBy(kv => kv.Key), view.Minutes.OrderBy(kv => kv.Key));
        Assert.Equal(expected.JobsByMachineType.OrderBy(kv => kv.Key), view.JobsByMachineType.OrderBy(kv => kv.Key));
        Assert.Equal(expected.Conclusions.OrderBy(kv => kv.Key), view.Conclusions.OrderBy(kv => kv.Key));
        Assert.Equal(TimeSpan.FromTicks(expected.QueueTicks / expected.QueueCount), view.QueueTimeAverage);
        Assert.Equal(QueueBucket.Median(expected.QueueHistogram), view.QueueTimeP50);
    }

    /// <summary>
    /// Not a timing: the bytes a <c>Record</c> serialises into storage with 10,000 jobs already in the month, before
    /// sharding (the whole month's jobs) and after (the hour's open page and list of pages, plus the hour totals of its
    /// day in the month), also when all 10,000 completed in one hour.
    /// </summary>
    [Fact]
    public void A_record_writes_the_hour_and_the_month_totals_not_the_month_of_jobs()
    {
        var serializer = world.Cluster.Silos[0].ServiceProvider.GetRequiredService<Serializer>();
        var start = new DateTimeOffset(2026, 11, 1, 0, 0, 0, TimeSpan.Zero);
        string?[] conclusions = ["success", "success", "success", "failure", "cancelled"];
        foreach (var hours in new[] { 1, 240, 720 })
        {
            var jobs = Enumerable.Range(0, 10_000).Select(i => CountedJob.From(Run(
                5_000_000_000L + i, start.AddHours(i % hours).AddMinutes(i % 60), i % 4 == 0 ? Large : Small, minutes: 1 + (i % 9),
                queueSeconds: 3 + (i % 97), conclusion: conclusions[i % conclusions.Length], repository: $"octo-org/repo-{i % 40}"))).ToList();
            var before = serializer.SerializeToArray(jobs.ToDictionary(j => j.JobId)).Length;
            var byHour = jobs.GroupBy(j => UsageHour.IndexInMonth(j.CompletedAt)).ToList();
            var lastDay = byHour[^1].Key / 24;
            var month = serializer.SerializeToArray(new UsageDayState
            {
                Hours = byHour.Where(g => g.Key / 24 == lastDay).ToDictionary(g => g.Key, g => UsageHourGrain.Totals(g)),
            }).Length;
            // At worst the open page is one job short of sealing, and the shard lists the newest completion of each page.
            var pageSize = new UsageOptions().HourPageSize;
            var shard = serializer.SerializeToArray(new UsageHourState
            {
                Jobs = byHour[^1].Take(pageSize - 1).ToDictionary(j => j.JobId),
                Pages = [.. byHour[^1].Chunk(pageSize).Select(page => page.Max(j => j.CompletedAt.UtcTicks))],
            }).Length;
            output.WriteLine($"10,000 jobs over {hours} hours: before {before:N0} B per record; after {shard:N0} B (hour shard) + {month:N0} B (the day's hour totals in the month) = {shard + month:N0} B");
            Assert.True(shard + month < before / 50, $"{shard + month} B after, {before} B before");
        }
    }
}
