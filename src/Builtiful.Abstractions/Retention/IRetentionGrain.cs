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
/// The jobs and leases of one installation first seen in one UTC hour, one of <see cref="RetentionKeys.Shards"/> shards,
/// keyed <c>{installationId}:{yyyy-MM-ddTHH}:{shard}</c> (<see cref="RetentionKeys"/>). Written once per job and per lease; read and emptied by the installation's sweep.
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

    /// <summary>Up to <paramref name="max"/> records, jobs first.</summary>
    [Alias("take")]
    Task<RetentionBatch> Take(int max);

    /// <summary>Removes swept records; returns how many remain.</summary>
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
    /// <summary>Each hour's records are spread over this many grains, so a busy installation's writes run side by side.</summary>
    public const int Shards = 8;

    public static string Hour(long installationId, DateTimeOffset hour, long jobId) => Hour(installationId, hour, (int)((ulong)jobId % Shards));

    public static string Hour(long installationId, DateTimeOffset hour, Guid leaseId) => Hour(installationId, hour, leaseId.ToByteArray()[0] % Shards);

    public static DateTimeOffset HourOf(DateTimeOffset instant)
    {
        var utc = instant.ToUniversalTime();
        return new DateTimeOffset(utc.Year, utc.Month, utc.Day, utc.Hour, 0, 0, TimeSpan.Zero);
    }

    public static string Hour(long installationId, DateTimeOffset hour, int shard) =>
        string.Create(System.Globalization.CultureInfo.InvariantCulture, $"{installationId}:{HourOf(hour):yyyy-MM-ddTHH}:{shard}");
}
