namespace Builtiful.Usage;

/// <summary>
/// An installation's month as per-hour totals, stored one state per day so that a write is one day's totals.
/// Its view is summed from them; its runs are read from the hour shards a page spans, found by the hours' job counts.
/// An hour whose shard is counting is stored once as open, not once per batch of jobs (see <see cref="ReportHour"/>):
/// the readers ask open hours' shards for their totals first.
/// </summary>
public sealed class UsageGrain : Grain, IUsageGrain
{
    private const int MaxDays = 31;

    /// <summary>Open hours' shards asked at once by a read.</summary>
    private const int ShardReadsInFlight = 8;

    private readonly IPersistentState<UsageDayState>[] days;

    /// <summary>Each day's writes, one at a time, with those asked for meanwhile stored together.</summary>
    private readonly GroupCommit[] commits = [.. Enumerable.Range(0, MaxDays).Select(_ => new GroupCommit())];

    /// <summary>Every hour with totals, from the days' states.</summary>
    private readonly SortedDictionary<int, UsageHourTotals> hours = [];

    public UsageGrain(IPersistentStateFactory states, IGrainContext context)
    {
        ArgumentNullException.ThrowIfNull(states);
        days = [.. Enumerable.Range(1, MaxDays).Select(day => states.Create<UsageDayState>(context, new DayState(day)))];
    }

    public override Task OnActivateAsync(CancellationToken cancellationToken)
    {
        foreach (var (hourIndex, totals) in days.SelectMany(d => d.State.Hours))
        {
            hours[hourIndex] = totals;
        }

        return Task.CompletedTask;
    }

    public Task SetHour(int hourIndex, UsageHourTotals totals) => ReportHour(hourIndex, totals, settled: true);

    public async Task ReportHour(int hourIndex, UsageHourTotals totals, bool settled)
    {
        ArgumentNullException.ThrowIfNull(totals);
        var (_, month) = UsageMonth.ParseKey(this.GetPrimaryKeyString());
        var first = DateTime.ParseExact(month, "yyyy-MM", System.Globalization.CultureInfo.InvariantCulture);
        if (hourIndex < 0 || hourIndex >= DateTime.DaysInMonth(first.Year, first.Month) * 24)
        {
            throw new ArgumentOutOfRangeException(nameof(hourIndex), hourIndex, $"Month {month} has no hour {hourIndex}.");
        }

        var day = days[hourIndex / 24];
        var commit = commits[hourIndex / 24];
        var known = day.State.Hours.TryGetValue(hourIndex, out var held);
        if (known && held!.Jobs > totals.Jobs)
        {
            // Totals reported before the ones held, arriving late: the held ones, or the write carrying them, count.
            await commit.Settled;
            return;
        }

        var wasOpen = day.State.Open.Contains(hourIndex);
        day.State.Hours[hourIndex] = totals;
        hours[hourIndex] = totals;
        bool write;
        if (settled)
        {
            day.State.Open.Remove(hourIndex);
            write = !known || wasOpen || held!.Jobs != totals.Jobs;
        }
        else
        {
            // Open and stored as open (or queued to be, by a write this report waits for): readers ask the shard, so
            // the newer totals need not be stored; the next write of this day carries them anyway.
            day.State.Open.Add(hourIndex);
            write = !wasOpen;
        }

        if (!write)
        {
            await commit.Settled;
            return;
        }

        try
        {
            await commit.WriteAsync(() => day.WriteStateAsync());
        }
        catch
        {
            // Not stored: this activation no longer knows what storage holds; the next one reads it, and the hour's
            // shard reports its totals again on its caller's retry.
            DeactivateOnIdle();
            throw;
        }
    }

    public async Task<UsageView> GetView()
    {
        await RefreshOpenHoursAsync();
        var (installationId, month) = UsageMonth.ParseKey(this.GetPrimaryKeyString());
        var minutes = new SortedDictionary<string, long>(StringComparer.Ordinal);
        var byType = new Dictionary<string, int>(StringComparer.Ordinal);
        var conclusions = new Dictionary<string, int>(StringComparer.Ordinal);
        var histogram = new Dictionary<int, QueueBucket>();
        int jobs = 0, queueCount = 0;
        long queueTicks = 0, durationTicks = 0;
        foreach (var hour in hours.Values)
        {
            jobs += hour.Jobs;
            queueCount += hour.QueueCount;
            queueTicks += hour.QueueTicks;
            durationTicks += hour.DurationTicks;
            Add(minutes, hour.Minutes);
            Add(byType, hour.JobsByMachineType);
            Add(conclusions, hour.Conclusions);
            foreach (var (key, bucket) in hour.QueueHistogram)
            {
                var was = histogram.GetValueOrDefault(key) ?? new QueueBucket(0, 0);
                histogram[key] = new QueueBucket(was.Count + bucket.Count, was.Ticks + bucket.Ticks);
            }
        }

        return new UsageView
        {
            Month = month,
            InstallationId = installationId,
            Minutes = minutes.ToDictionary(StringComparer.Ordinal),
            Jobs = jobs,
            JobsByMachineType = byType,
            QueueTimeP50 = QueueBucket.Median(histogram),
            QueueTimeAverage = queueCount == 0 ? null : TimeSpan.FromTicks(queueTicks / queueCount),
            DurationAverage = jobs == 0 ? null : TimeSpan.FromTicks(durationTicks / jobs),
            Conclusions = conclusions,
        };
    }

    public async Task<JobRunPage> GetRuns(int offset, int limit)
    {
        await RefreshOpenHoursAsync();
        var (installationId, month) = UsageMonth.ParseKey(this.GetPrimaryKeyString());
        var total = hours.Values.Sum(h => h.Jobs);
        var items = new List<JobRun>();
        var skip = Math.Max(0, offset);
        var wanted = Math.Max(0, limit);
        foreach (var (hourIndex, hour) in hours.Where(h => h.Value.Jobs > 0).Reverse().ToList())
        {
            if (wanted == 0)
            {
                break;
            }

            if (skip >= hour.Jobs)
            {
                skip -= hour.Jobs;
                continue;
            }

            var page = await GrainFactory.Reference<IUsageHourGrain>(UsageHour.Key(installationId, month, hourIndex)).GetRuns(skip, wanted);
            items.AddRange(page.Items);
            wanted -= page.Items.Count;
            skip = 0;
        }

        return new JobRunPage(items, total);
    }

    /// <summary>
    /// Takes the totals of every open hour from its shard (activating it when it is not active): what the shard has
    /// stored is the truth, and the month may hold less of it (reports kept in memory only, or lost with a silo). The
    /// answers are kept in memory; the shard reports them as settled when it deactivates. A shard that cannot answer
    /// fails the read: a short total is never given as the month's.
    /// </summary>
    private async Task RefreshOpenHoursAsync()
    {
        var open = days.SelectMany(d => d.State.Open).ToList();
        if (open.Count == 0)
        {
            return;
        }

        var (installationId, month) = UsageMonth.ParseKey(this.GetPrimaryKeyString());
        foreach (var chunk in open.Chunk(ShardReadsInFlight))
        {
            var answers = await Task.WhenAll(chunk.Select(hourIndex =>
                GrainFactory.Reference<IUsageHourGrain>(UsageHour.Key(installationId, month, hourIndex)).GetTotals()));
            foreach (var (hourIndex, totals) in chunk.Zip(answers))
            {
                var day = days[hourIndex / 24];
                if (!day.State.Hours.TryGetValue(hourIndex, out var held) || held.Jobs <= totals.Jobs)
                {
                    day.State.Hours[hourIndex] = totals;
                    hours[hourIndex] = totals;
                }
            }
        }
    }

    private static void Add<TValue>(IDictionary<string, TValue> sum, IReadOnlyDictionary<string, TValue> part)
        where TValue : System.Numerics.INumber<TValue>
    {
        foreach (var (key, value) in part)
        {
            sum[key] = (sum.TryGetValue(key, out var was) ? was : TValue.Zero) + value;
        }
    }

    private sealed record DayState(int Day) : IPersistentStateConfiguration
    {
        public string StateName => string.Create(System.Globalization.CultureInfo.InvariantCulture, $"usage-day-{Day:00}");

        public string StorageName => StorageNames.Grains;
    }
}
