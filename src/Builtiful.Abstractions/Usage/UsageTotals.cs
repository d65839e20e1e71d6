namespace Builtiful.Usage;

/// <summary>
/// The aggregated usage of one installation's hour: what the month's view sums, so that the view never reads a job.
/// Queue times are kept as a fixed logarithmic histogram (<see cref="QueueBucket"/>) for the median.
/// </summary>
[GenerateSerializer, Immutable, Alias("builtiful.usage-hour-totals")]
public sealed record UsageHourTotals
{
    [Id(0)] public int Jobs { get; init; }
    /// <summary>Billable minutes per machine-type label.</summary>
    [Id(1)] public IReadOnlyDictionary<string, long> Minutes { get; init; } = new Dictionary<string, long>();
    [Id(2)] public IReadOnlyDictionary<string, int> JobsByMachineType { get; init; } = new Dictionary<string, int>();
    /// <summary>Jobs per GitHub conclusion; <c>unknown</c> when there was none.</summary>
    [Id(3)] public IReadOnlyDictionary<string, int> Conclusions { get; init; } = new Dictionary<string, int>();
    [Id(4)] public long QueueTicks { get; init; }
    [Id(5)] public int QueueCount { get; init; }
    [Id(6)] public long DurationTicks { get; init; }
    /// <summary>Queue times by <see cref="QueueBucket.Of"/>.</summary>
    [Id(7)] public IReadOnlyDictionary<int, QueueBucket> QueueHistogram { get; init; } = new Dictionary<int, QueueBucket>();

    public static UsageHourTotals Of(IEnumerable<(string MachineType, long Minutes, string? Conclusion, TimeSpan? QueueTime, TimeSpan Duration)> jobs)
    {
        ArgumentNullException.ThrowIfNull(jobs);
        var tally = new Tally();
        foreach (var job in jobs)
        {
            tally.Add(job.MachineType, job.Minutes, job.Conclusion, job.QueueTime, job.Duration);
        }

        return tally.ToTotals();
    }

    /// <summary>
    /// Totals kept up to date one job at a time, so an hour that counts its n-th job does not add up the n − 1 before
    /// it again; <see cref="ToTotals"/> takes an immutable copy (a few entries per machine type and conclusion).
    /// </summary>
    public sealed class Tally
    {
        private readonly Dictionary<string, long> _minutes = new(StringComparer.Ordinal);
        private readonly Dictionary<string, int> _byType = new(StringComparer.Ordinal);
        private readonly Dictionary<string, int> _conclusions = new(StringComparer.Ordinal);
        private readonly Dictionary<int, QueueBucket> _histogram = [];
        private int _count;
        private int _queueCount;
        private long _queueTicks;
        private long _durationTicks;

        public void Add(string machineType, long minutes, string? conclusion, TimeSpan? queueTime, TimeSpan duration)
        {
            ArgumentNullException.ThrowIfNull(machineType);
            _count++;
            _minutes[machineType] = _minutes.GetValueOrDefault(machineType) + minutes;
            _byType[machineType] = _byType.GetValueOrDefault(machineType) + 1;
            var outcome = conclusion ?? "unknown";
            _conclusions[outcome] = _conclusions.GetValueOrDefault(outcome) + 1;
            _durationTicks += duration.Ticks;
            if (queueTime is { } queue)
            {
                _queueCount++;
                _queueTicks += queue.Ticks;
                var bucket = QueueBucket.Of(queue);
                var was = _histogram.GetValueOrDefault(bucket) ?? new QueueBucket(0, 0);
                _histogram[bucket] = new QueueBucket(was.Count + 1, was.Ticks + queue.Ticks);
            }
        }

        public UsageHourTotals ToTotals() => new()
        {
            Jobs = _count,
            Minutes = new Dictionary<string, long>(_minutes, StringComparer.Ordinal),
            JobsByMachineType = new Dictionary<string, int>(_byType, StringComparer.Ordinal),
            Conclusions = new Dictionary<string, int>(_conclusions, StringComparer.Ordinal),
            QueueTicks = _queueTicks,
            QueueCount = _queueCount,
            DurationTicks = _durationTicks,
            QueueHistogram = new Dictionary<int, QueueBucket>(_histogram),
        };
    }
}

/// <summary>
/// One bucket of the queue-time histogram: how many queue times fell in it and their sum. Bucket 0 holds queue times
/// under one second; bucket <c>b ≥ 1</c> holds [2^((b−1)/4), 2^(b/4)) seconds, so a bucket is at most ~19 % wide.
/// </summary>
[GenerateSerializer, Immutable, Alias("builtiful.usage-queue-bucket")]
public sealed record QueueBucket([property: Id(0)] int Count, [property: Id(1)] long Ticks)
{
    public static int Of(TimeSpan queueTime)
    {
        var seconds = queueTime.TotalSeconds;
        return seconds < 1 ? 0 : 1 + (int)Math.Floor(4 * Math.Log2(seconds));
    }

    /// <summary>
    /// The median of a histogram: the mean of the bucket holding the lower median, so exact when that bucket's queue
    /// times are equal and otherwise within the bucket's width (~19 %) of the exact median.
    /// </summary>
    public static TimeSpan? Median(IReadOnlyDictionary<int, QueueBucket> histogram)
    {
        ArgumentNullException.ThrowIfNull(histogram);
        long total = histogram.Values.Sum(b => (long)b.Count);
        if (total == 0)
        {
            return null;
        }

        var rank = (total - 1) / 2; // the lower median, as the exact median was taken before
        foreach (var (_, bucket) in histogram.OrderBy(b => b.Key))
        {
            if (rank < bucket.Count)
            {
                return TimeSpan.FromTicks(bucket.Ticks / bucket.Count);
            }

            rank -= bucket.Count;
        }

        return null;
    }
}
