using Builtiful.Usage;
using Microsoft.Extensions.DependencyInjection;
using Orleans.Storage;

namespace Builtiful.Grains.Tests;

/// <summary>
/// An hour shard keeps only its open page of counted jobs in its own state and seals full pages into page grains
/// written once (pages of four here). Counting stays idempotent across pages and activations, the totals and the
/// listing cover every page, retention reaches a job on a sealed page, and a refused write loses and doubles nothing.
/// </summary>
public sealed class UsagePagingTests(UsagePagingTests.PagedUsageCluster world) : IClassFixture<UsagePagingTests.PagedUsageCluster>
{
    private const int PageSize = 4;
    private const string Small = "builtiful-2vcpu-ubuntu-2404";
    private const string Large = "builtiful-8vcpu-ubuntu-2404";

    private static readonly DateTimeOffset Hour = new(2026, 5, 12, 16, 0, 0, TimeSpan.Zero);

    private static long NewInstallation() => Random.Shared.NextInt64(1, long.MaxValue);

    /// <summary>Completion times out of order, two of them equal, so pages overlap in time and ties order by job id.</summary>
    private static List<JobRun> Runs(int count, long firstJobId = 100) =>
    [
        .. Enumerable.Range(0, count).Select(i => new JobRun
        {
            JobId = firstJobId + i,
            MachineType = i % 3 == 0 ? Large : Small,
            LeaseId = Guid.NewGuid(),
            QueuedAt = Hour.AddSeconds(i),
            StartedAt = Hour.AddSeconds(30 + i),
            CompletedAt = Hour.AddSeconds(60 + (i * 37 % count) * 50 + (i == 5 ? 50 : 0)),
            Conclusion = i % 4 == 0 ? "failure" : "success",
            Repository = $"octo-org/repo-{i % 3}",
            BillableMinutes = 1 + i % 5,
        }),
    ];

    private IUsageHourGrain Shard(long installationId) => world.Client.GetGrain<IUsageHourGrain>(UsageHour.Key(installationId, Hour));

    private IUsageGrain Month(long installationId) => world.Client.GetGrain<IUsageGrain>(UsageMonth.Key(installationId, "2026-05"));

    private IGrainStorage Storage => world.Cluster.Silos[0].ServiceProvider.GetRequiredKeyedService<IGrainStorage>(StorageNames.Grains);

    private async Task<UsageHourState> StoredShard(long installationId)
    {
        var stored = new GrainState<UsageHourState>(new UsageHourState());
        await Storage.ReadStateAsync("usage-hour", Shard(installationId).GetGrainId(), stored);
        return stored.State!;
    }

    private async Task<List<CountedJob>> StoredPage(long installationId, int page)
    {
        var stored = new GrainState<UsagePageState>(new UsagePageState());
        var grain = world.Client.GetGrain<IUsagePageGrain>(UsagePage.Key(UsageHour.Key(installationId, Hour), page));
        await Storage.ReadStateAsync("usage-page", grain.GetGrainId(), stored);
        return stored.State!.Jobs;
    }

    /// <summary>Counts each run, asserting that each is new to the hour.</summary>
    private async Task RecordNewAsync(long installationId, IEnumerable<JobRun> runs)
    {
        foreach (var run in runs)
        {
            Assert.True(await Shard(installationId).Record(run), $"job {run.JobId} is new to the hour");
        }
    }

    private static List<long> Newest(IEnumerable<JobRun> runs) =>
        [.. runs.OrderByDescending(r => r.CompletedAt).ThenByDescending(r => r.JobId).Select(r => r.JobId)];

    private async Task AssertMonthCounts(long installationId, List<JobRun> runs)
    {
        var expected = UsageHourGrain.Totals(runs.Select(CountedJob.From));
        var view = await Month(installationId).GetView();
        Assert.Equal(runs.Count, view.Jobs);
        Assert.Equal(expected.Minutes.OrderBy(kv => kv.Key), view.Minutes.OrderBy(kv => kv.Key));
        Assert.Equal(expected.Conclusions.OrderBy(kv => kv.Key), view.Conclusions.OrderBy(kv => kv.Key));
        Assert.Equal(QueueBucket.Median(expected.QueueHistogram), view.QueueTimeP50);
    }

    private async Task AssertListing(long installationId, List<JobRun> runs)
    {
        var newest = Newest(runs);
        for (var offset = 0; offset <= runs.Count; offset++)
        {
            foreach (var limit in new[] { 0, 1, 3, PageSize + 1, runs.Count })
            {
                var page = await Shard(installationId).GetRuns(offset, limit);
                Assert.Equal(runs.Count, page.Total);
                Assert.Equal(newest.Skip(offset).Take(limit), page.Items.Select(r => r.JobId));
            }
        }
    }

    [Fact]
    public async Task A_full_open_page_is_sealed_and_the_shard_keeps_only_the_jobs_counted_since()
    {
        var installationId = NewInstallation();
        var runs = Runs(11);
        await RecordNewAsync(installationId, runs);

        var shard = await StoredShard(installationId);
        Assert.Equal(2, shard.Pages.Count);
        Assert.Equal(runs.Skip(8).Select(r => r.JobId).Order(), shard.Jobs.Keys.Order());
        Assert.Equal(runs.Take(4).Select(r => r.JobId), (await StoredPage(installationId, 0)).Select(j => j.JobId).Order());
        Assert.Equal(runs.Skip(4).Take(4).Select(r => r.JobId), (await StoredPage(installationId, 1)).Select(j => j.JobId).Order());
        Assert.Equal(runs.Skip(4).Take(4).Max(r => r.CompletedAt).UtcTicks, shard.Pages[1]);

        await AssertMonthCounts(installationId, runs);
        await AssertListing(installationId, runs);
    }

    [Fact]
    public async Task Jobs_on_sealed_pages_stay_counted_once_after_the_shard_is_read_back()
    {
        var installationId = NewInstallation();
        var runs = Runs(10);
        await RecordNewAsync(installationId, runs);

        var management = world.Client.GetGrain<IManagementGrain>(0);
        await management.ForceActivationCollection(TimeSpan.Zero);

        Assert.False(await Shard(installationId).Record(runs[1]), "a job on sealed page 0 is counted once");

        // The shard read its two pages when it activated; they leave memory once they have answered.
        var pages = Enumerable.Range(0, 2)
            .Select(p => ((GrainReference)world.Client.GetGrain<IUsagePageGrain>(UsagePage.Key(UsageHour.Key(installationId, Hour), p))).GrainId)
            .ToList();
        await Eventually.Until(
            async () => await management.GetActiveGrains(pages[0].Type),
            active => !active.Intersect(pages).Any(),
            "the pages read by the shard's activation deactivated");
        Assert.False(await Shard(installationId).Record(runs[6]), "a job on sealed page 1 is counted once");
        Assert.False(await Shard(installationId).Record(runs[9]), "a job on the open page is counted once");
        await AssertMonthCounts(installationId, runs);
        await AssertListing(installationId, runs);

        var more = Runs(3, firstJobId: 900);
        await RecordNewAsync(installationId, more);

        Assert.Equal(3, (await StoredShard(installationId)).Pages.Count);
        await AssertMonthCounts(installationId, [.. runs, .. more]);
        await AssertListing(installationId, [.. runs, .. more]);
    }

    [Fact]
    public async Task A_sealed_job_completed_at_the_same_instant_as_an_open_one_is_listed_by_job_id()
    {
        var installationId = NewInstallation();
        var runs = Runs(6);
        var last = Hour.AddMinutes(59);
        runs[0] = runs[0] with { JobId = 50, CompletedAt = last }; // sealed on page 0, the page's newest
        runs[5] = runs[5] with { JobId = 40, CompletedAt = last }; // on the open page, the same instant
        await RecordNewAsync(installationId, runs);

        Assert.Equal([50], (await Shard(installationId).GetRuns(0, 1)).Items.Select(r => r.JobId));
        Assert.Equal([40], (await Shard(installationId).GetRuns(1, 1)).Items.Select(r => r.JobId));
        await AssertListing(installationId, runs);
    }

    [Fact]
    public async Task Retention_forgets_the_repository_of_a_job_on_a_sealed_page()
    {
        var installationId = NewInstallation();
        var runs = Runs(6);
        await RecordNewAsync(installationId, runs);

        Assert.True(await Shard(installationId).ForgetRepository(runs[2].JobId));
        Assert.False(await Shard(installationId).ForgetRepository(runs[2].JobId), "nothing is left to forget");
        Assert.True(await Shard(installationId).ForgetRepository(runs[5].JobId), "a job on the open page");
        Assert.False(await Shard(installationId).ForgetRepository(4242), "an unknown job changes nothing");

        Assert.Null(Assert.Single(await StoredPage(installationId, 0), j => j.JobId == runs[2].JobId).Repository);
        Assert.All((await StoredPage(installationId, 0)).Where(j => j.JobId != runs[2].JobId), j => Assert.NotNull(j.Repository));
        var listed = (await Shard(installationId).GetRuns(0, 10)).Items.ToDictionary(r => r.JobId);
        Assert.Null(listed[runs[2].JobId].Repository);
        Assert.Null(listed[runs[5].JobId].Repository);
        Assert.Equal(runs[2].BillableMinutes, listed[runs[2].JobId].BillableMinutes);
        await AssertMonthCounts(installationId, runs);
    }

    [Fact]
    public async Task A_refused_seal_counts_the_job_on_its_retry_and_no_job_twice()
    {
        var installationId = NewInstallation();
        var runs = Runs(9);
        await RecordNewAsync(installationId, runs.Take(3));

        // The page is refused: nothing moves, the job that filled it is not counted until its retry.
        world.Refusals.RefuseNext("usage-page");
        await Assert.ThrowsAnyAsync<Exception>(() => Shard(installationId).Record(runs[3]));
        await AssertMonthCounts(installationId, [.. runs.Take(3)]);
        Assert.True(await Shard(installationId).Record(runs[3]));
        Assert.Single((await StoredShard(installationId)).Pages);

        await RecordNewAsync(installationId, runs.Skip(4).Take(3));

        // The page is stored and the shard's write refused (a crash between the two): the next seal writes page 1 again.
        world.Refusals.RefuseNext("usage-hour");
        await Assert.ThrowsAnyAsync<Exception>(() => Shard(installationId).Record(runs[7]));
        Assert.Equal(4, (await StoredPage(installationId, 1)).Count);
        await AssertMonthCounts(installationId, [.. runs.Take(7)]);
        Assert.False(await Shard(installationId).Record(runs[4]), "a job of the refused seal is still counted, once");
        Assert.True(await Shard(installationId).Record(runs[7]));
        Assert.True(await Shard(installationId).Record(runs[8]));

        var shard = await StoredShard(installationId);
        Assert.Equal(2, shard.Pages.Count);
        Assert.Equal([runs[8].JobId], shard.Jobs.Keys);
        Assert.Equal(runs.Skip(4).Take(4).Select(r => r.JobId), (await StoredPage(installationId, 1)).Select(j => j.JobId).Order());
        await AssertMonthCounts(installationId, runs);
        await AssertListing(installationId, runs);
    }

    [Fact]
    public async Task An_hour_stored_before_pages_is_sealed_whole_by_its_next_count()
    {
        var installationId = NewInstallation();
        var runs = Runs(7);
        await Storage.WriteStateAsync("usage-hour", Shard(installationId).GetGrainId(), new GrainState<UsageHourState>(new UsageHourState
        {
            Jobs = runs.Take(6).ToDictionary(r => r.JobId, CountedJob.From),
        }));

        Assert.False(await Shard(installationId).Record(runs[0]), "a job of the old open page is counted once");
        await AssertMonthCounts(installationId, [.. runs.Take(6)]);
        Assert.True(await Shard(installationId).Record(runs[6]));

        var shard = await StoredShard(installationId);
        Assert.Empty(shard.Jobs);
        Assert.Single(shard.Pages);
        Assert.Equal(7, (await StoredPage(installationId, 0)).Count);
        await AssertMonthCounts(installationId, runs);
        await AssertListing(installationId, runs);
    }

    public sealed class PagedUsageCluster : LifecycleCluster
    {
        public RefusingStorage.Refusals Refusals { get; } = new();

        protected override IReadOnlyDictionary<string, string?> Settings { get; } =
            new Dictionary<string, string?> { ["Usage:HourPageSize"] = PageSize.ToString(System.Globalization.CultureInfo.InvariantCulture) };

        protected override void ConfigureSilo(IServiceCollection services)
        {
            DecorateGrainStorage(services, inner => new RefusingStorage(inner, Refusals));
        }
    }
}
