using Builtiful.Jobs;
using Builtiful.Retention;

namespace Builtiful.Grains.Tests;

/// <summary>
/// A busy hour's records: the hour's shard seals each full page into a page grain of its own, so no write stores more
/// than a page, and the sweep empties every page, the open one and the shards records were spread over before.
/// </summary>
public sealed class RetentionPagingTests(RetentionPagingTests.Cluster world) : IClassFixture<RetentionPagingTests.Cluster>
{
    public sealed class Cluster : LifecycleCluster
    {
        public const int MaxRecordsPerSweep = 200;

        protected override IReadOnlyDictionary<string, string?> Settings { get; } = new Dictionary<string, string?>
        {
            ["Retention:JobMetadata"] = "1.00:00:00",
            ["Retention:SweepPeriod"] = "1.00:00:00",
            ["Retention:MaxRecordsPerSweep"] = MaxRecordsPerSweep.ToString(System.Globalization.CultureInfo.InvariantCulture),
        };
    }

    [Fact]
    public async Task An_hour_of_more_than_two_pages_is_sealed_page_by_page_and_swept_whole_within_each_sweeps_bound()
    {
        var installationId = await world.InstallAsync();
        var firstSeen = world.Clock.GetUtcNow();
        var jobs = Enumerable.Range(0, (2 * RetentionKeys.PageSize) + 9).Select(_ => LifecycleCluster.NewJobId()).ToList();
        foreach (var jobId in jobs)
        {
            // Refused (public repository): a job record and no lease, so every record is a job.
            await world.Job(jobId).Apply(LifecycleCluster.JobEvent(jobId, installationId, JobStatus.Queued, repository: LifecycleCluster.PublicRepository(installationId), visibility: RepositoryVisibility.Public));
        }

        // Two full pages sealed, in order, and the rest open in the shard.
        var shardKey = RetentionKeys.Current(installationId, firstSeen);
        var page0 = await Shard(RetentionKeys.Page(shardKey, 0)).Take(10_000);
        var page1 = await Shard(RetentionKeys.Page(shardKey, 1)).Take(10_000);
        Assert.Equal(RetentionKeys.PageSize, page0.Count);
        Assert.Equal(RetentionKeys.PageSize, page1.Count);
        Assert.Empty(Assert.IsType<RetentionBatch>(await Shard(RetentionKeys.Page(shardKey, 2)).Take(10_000)).Jobs);
        Assert.Equal(jobs.Take(2 * RetentionKeys.PageSize).Order(), page0.Jobs.Concat(page1.Jobs).Order());

        // A record indexed in another shard of the hour, as records were before new ones all went to shard 0.
        var legacyKey = RetentionKeys.Hour(installationId, firstSeen, shard: 5);
        await Shard(legacyKey).AddJob(jobs[0]);

        world.Clock.Advance(TimeSpan.FromDays(1) + TimeSpan.FromHours(2));
        var deleted = 0;
        var sweeps = 0;
        RetentionReport report;
        do
        {
            report = await world.Client.GetGrain<IRetentionGrain>(installationId).Sweep();
            Assert.True(report.JobsDeleted + report.LeasesDeleted + report.Kept <= Cluster.MaxRecordsPerSweep, "one sweep stays within its bound");
            deleted += report.JobsDeleted;
            sweeps++;
        }
        while (report.MoreDue && sweeps < 20);

        Assert.False(report.MoreDue);
        Assert.Equal(jobs.Count, deleted);
        Assert.Equal((jobs.Count + 1 + Cluster.MaxRecordsPerSweep - 1) / Cluster.MaxRecordsPerSweep, sweeps);
        foreach (var jobId in jobs)
        {
            Assert.Null(await world.Job(jobId).GetView());
        }

        Assert.Empty(await world.Client.GetGrain<IRetentionGrain>(installationId).PendingHours());
        foreach (var key in new[] { shardKey, RetentionKeys.Page(shardKey, 0), RetentionKeys.Page(shardKey, 1), legacyKey })
        {
            Assert.Equal(0, (await Shard(key).Take(10_000)).Count);
        }
    }

    private IRetentionHourGrain Shard(string key) => world.Client.GetGrain<IRetentionHourGrain>(key);
}
