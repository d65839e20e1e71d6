using Orleans.Concurrency;

namespace Builtiful.Retention;

/// <summary>
/// Deletes one installation's job metadata once it is older than <c>Retention:JobMetadata</c>: one grain and one
/// reminder per installation (key: installation id, 0 for deliveries that named none). Records are indexed by the hour
/// they were first seen (<see cref="IRetentionHourGrain"/>), so a sweep reads only what is due and does bounded work.
/// It calls jobs, leases and hours; they reach it only one-way, so no call cycle can deadlock.
/// </summary>
[Alias("builtiful.retention")]
public interface IRetentionGrain : IGrainWithIntegerKey
{
    /// <summary>An hour now holds records of this installation; arms the reminder on first use.</summary>
    [OneWay, Alias("track")]
    Task Track(DateTimeOffset hour);

    /// <summary>Deletes up to <c>Retention:MaxRecordsPerSweep</c> due records now; the reminder calls it every <c>Retention:SweepPeriod</c>.</summary>
    [Alias("sweep")]
    Task<RetentionReport> Sweep();

    /// <summary>The hours that still hold records, oldest first.</summary>
    [ReadOnly, AlwaysInterleave, Alias("hours")]
    Task<IReadOnlyList<DateTimeOffset>> PendingHours();
}

/// <summary>
/// The jobs and leases of one installation first seen in one UTC hour, keyed <c>{installationId}:{yyyy-MM-ddTHH}:{shard}</c>
/// (<see cref="RetentionKeys"/>); new records all go to shard 0. Written once per batch of adds; a full page is sealed
/// into a page grain of the same type (<see cref="RetentionKeys.Page"/>), so no write stores more than a page. Read and
/// emptied by the installation's sweep.
/// </summary>
[Alias("builtiful.retention-hour")]
public interface IRetentionHourGrain : IGrainWithStringKey
{
    /// <summary>
    /// Answered once stored. Adds interleave: those made while the shard's write is in flight are stored together by the
    /// next one, so a burst of jobs into one installation writes each shard per batch, not per job.
    /// </summary>
    [AlwaysInterleave, Alias("add-job")]
    Task AddJob(long jobId);

    /// <inheritdoc cref="AddJob"/>
    [AlwaysInterleave, Alias("add-lease")]
    Task AddLease(Guid leaseId);

    /// <summary>A sealed page's records, added to what the page grain holds; called by its shard only.</summary>
    [Alias("seal")]
    Task Seal(RetentionBatch page);

    /// <summary>Up to <paramref name="max"/> records, jobs first, from one page: the last sealed one, else the open one.</summary>
    [Alias("take")]
    Task<RetentionBatch> Take(int max);

    /// <summary>Removes swept records (a batch <see cref="Take"/> gave); returns how many remain, 0 once the shard holds none.</summary>
    [Alias("remove")]
    Task<int> Remove(RetentionBatch batch);
}

[GenerateSerializer, Immutable, Alias("builtiful.retention-batch")]
public sealed record RetentionBatch(
    [property: Id(0)] IReadOnlyList<long> Jobs,
    [property: Id(1)] IReadOnlyList<Guid> Leases)
{
    public int Count => Jobs.Count + Leases.Count;
}

[GenerateSerializer, Immutable, Alias("builtiful.retention-report")]
public sealed record RetentionReport(
    [property: Id(0)] int JobsDeleted,
    [property: Id(1)] int LeasesDeleted,
    [property: Id(2)] int Kept,
    [property: Id(3)] bool MoreDue);

public static class RetentionKeys
{
    /// <summary>
    /// The shards of an hour the sweep reads. New records all go to shard 0 (<see cref="Current"/>), whose adds share
    /// writes; records stored before that were spread over all of them by id, so the sweep still reads each.
    /// </summary>
    public const int Shards = 8;

    /// <summary>Records an open page holds before a write seals it into a page grain (<see cref="Page"/>).</summary>
    public const int PageSize = 256;

    /// <summary>Where a record first seen at <paramref name="instant"/> is indexed.</summary>
    public static string Current(long installationId, DateTimeOffset instant) => Hour(installationId, instant, 0);

    /// <summary>The grain holding sealed page <paramref name="page"/> (from 0) of the shard keyed <paramref name="shardKey"/>.</summary>
    public static string Page(string shardKey, int page) =>
        string.Create(System.Globalization.CultureInfo.InvariantCulture, $"{shardKey}/{page}");

    public static DateTimeOffset HourOf(DateTimeOffset instant)
    {
        var utc = instant.ToUniversalTime();
        return new DateTimeOffset(utc.Year, utc.Month, utc.Day, utc.Hour, 0, 0, TimeSpan.Zero);
    }

    public static string Hour(long installationId, DateTimeOffset hour, int shard) =>
        string.Create(System.Globalization.CultureInfo.InvariantCulture, $"{installationId}:{HourOf(hour):yyyy-MM-ddTHH}:{shard}");
}
