using System.Diagnostics.Metrics;
using Builtiful.Providers;

namespace Builtiful.Telemetry;

/// <summary>
/// Meter <c>Builtiful</c>: the grains' instruments. Static, so a grain records with one line and no constructor change;
/// the Prometheus endpoint exports them as <c>builtiful_*</c>.
/// </summary>
public static class BuiltifulMetrics
{
    public const string MeterName = "Builtiful";

    private static readonly Meter Meter = new(MeterName);

    private static readonly Histogram<double> QueueTime = Meter.CreateHistogram(
        "builtiful.job.queue_time", "s", "Queued to started, per job that ran on one of our VMs, recorded when the job is counted.",
        tags: null, advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = [1, 5, 10, 20, 30, 60, 120, 300, 600, 1200, 1800, 3600] });

    private static readonly Histogram<double> LaunchLatency = Meter.CreateHistogram(
        "builtiful.lease.launch_latency", "s", "Lease requested to VM launched by the compute provider.",
        tags: null, advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = [0.1, 0.25, 0.5, 1, 2, 5, 10, 20, 30, 60, 120, 300] });

    private static readonly Counter<long> LaunchFailures = Meter.CreateCounter<long>(
        "builtiful.lease.launch_failures", "{failure}", "Failed launch attempts, by reason (the failure's type) and whether retrying can help.");

    private static readonly Counter<long> BillableMinutes = Meter.CreateCounter<long>(
        "builtiful.usage.billable_minutes", "min", "Billable minutes counted, by machine type.");

    private static readonly Counter<long> PoolTakes = Meter.CreateCounter<long>(
        "builtiful.pool.takes", "{take}", "Leases that asked a warm pool for a VM, by pool and result (hit or miss).");

    private static readonly System.Collections.Concurrent.ConcurrentDictionary<string, int> IdleByPool = new(StringComparer.Ordinal);

    private static readonly ObservableGauge<int> PoolIdle = Meter.CreateObservableGauge(
        "builtiful.pool.idle_vms", () => IdleByPool.Select(p => new Measurement<int>(p.Value, new KeyValuePair<string, object?>("pool", p.Key))),
        "{vm}", "Idle VMs (booted or booting, not taken) per warm pool, as its last tick on this silo saw them.");

    public static void RecordPoolTake(string pool, bool hit) =>
        PoolTakes.Add(1, new KeyValuePair<string, object?>("pool", pool), new KeyValuePair<string, object?>("result", hit ? "hit" : "miss"));

    public static void RecordPoolIdle(string pool, int idle)
    {
        _ = PoolIdle;
        IdleByPool[pool] = idle;
    }

    public static void RecordCompletedJob(string machineType, TimeSpan? queueTime, long billableMinutes)
    {
        var tag = new KeyValuePair<string, object?>("machine_type", machineType);
        if (queueTime is { } queued)
        {
            QueueTime.Record(queued.TotalSeconds, tag);
        }

        BillableMinutes.Add(billableMinutes, tag);
    }

    public static void RecordLaunch(string? machineType, DateTimeOffset? requestedAt, DateTimeOffset launchedAt)
    {
        if (requestedAt is { } requested && launchedAt >= requested)
        {
            LaunchLatency.Record((launchedAt - requested).TotalSeconds, new KeyValuePair<string, object?>("machine_type", machineType ?? "unknown"));
        }
    }

    public static void RecordLaunchFailure(Exception failure, string? machineType)
    {
        ArgumentNullException.ThrowIfNull(failure);
        LaunchFailures.Add(1,
            new KeyValuePair<string, object?>("reason", FailureReason(failure)),
            new KeyValuePair<string, object?>("permanent", failure is IProviderFailure { IsPermanent: true } ? "true" : "false"),
            new KeyValuePair<string, object?>("machine_type", machineType ?? "unknown"));
    }

    /// <summary>The failure's type keeps the label's values few and stable; messages would make a series per error text.</summary>
    private static string FailureReason(Exception failure) => failure switch
    {
        OperationCanceledException or TimeoutException => "timeout",
        _ => failure.GetType().Name,
    };
}
