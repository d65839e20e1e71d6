namespace Builtiful.Usage;

/// <summary>
/// An installation's month as per-hour totals. Its view is summed from them; its runs are read from the hour shards
/// a page spans, found by the hours' job counts.
/// </summary>
public sealed class UsageGrain(
    [PersistentState("usage", StorageNames.Grains)] IPersistentState<UsageState> state) : Grain, IUsageGrain
{
    private UsageState Usage => state.State;

    public override Task OnActivateAsync(CancellationToken cancellationToken)
    {
        // Jobs counted before sharding: until their hour's shard sets its totals, the totals are derived from them here.
        foreach (var hour in Usage.Jobs.Values.GroupBy(j => UsageHour.IndexInMonth(j.CompletedAt)))
        {
            Usage.Hours.TryAdd(hour.Key, UsageHourGrain.Totals(hour));
        }

        return Task.CompletedTask;
    }

    public async Task SetHour(int hourIndex, UsageHourTotals totals)
    {
        ArgumentNullException.ThrowIfNull(totals);
        var (_, month) = UsageMonth.ParseKey(this.GetPrimaryKeyString());
        if (hourIndex < 0 || hourIndex >= DateTime.DaysInMonth(int.Parse(month[..4], System.Globalization.CultureInfo.InvariantCulture),
                int.Parse(month[5..], System.Globalization.CultureInfo.InvariantCulture)) * 24)
        {
            throw new ArgumentOutOfRangeException(nameof(hourIndex), hourIndex, $"Month {month} has no hour {hourIndex}.");
        }

        Usage.Hours[hourIndex] = totals;
        // The shard has taken this hour's legacy jobs over (it does on activation, before any write of its own).
        foreach (var jobId in Usage.Jobs.Where(j => UsageHour.IndexInMonth(j.Value.CompletedAt) == hourIndex).Select(j => j.Key).ToList())
        {
            Usage.Jobs.Remove(jobId);
        }

        await state.WriteStateAsync();
    }

    public Task<IReadOnlyList<JobRun>> LegacyRuns(int hourIndex) => Task.FromResult<IReadOnlyList<JobRun>>(
        [.. Usage.Jobs.Values.Where(j => UsageHour.IndexInMonth(j.CompletedAt) == hourIndex).Select(j => j.ToRun())]);

    public Task<UsageView> GetView()
    {
        var (installationId, month) = UsageMonth.ParseKey(this.GetPrimaryKeyString());
        var hours = Usage.Hours.Values;
        var minutes = new SortedDictionary<string, long>(StringComparer.Ordinal);
        var byType = new Dictionary<string, int>(StringComparer.Ordinal);
        var conclusions = new Dictionary<string, int>(StringComparer.Ordinal);
        var histogram = new Dictionary<int, QueueBucket>();
        int jobs = 0, queueCount = 0;
        long queueTicks = 0, durationTicks = 0;
        foreach (var hour in hours)
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

        return Task.FromResult(new UsageView
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
        });
    }

    public async Task<JobRunPage> GetRuns(int offset, int limit)
    {
        var (installationId, month) = UsageMonth.ParseKey(this.GetPrimaryKeyString());
        var total = Usage.Hours.Values.Sum(h => h.Jobs);
        var items = new List<JobRun>();
        var skip = Math.Max(0, offset);
        var wanted = Math.Max(0, limit);
        foreach (var (hourIndex, hour) in Usage.Hours.Where(h => h.Value.Jobs > 0).OrderByDescending(h => h.Key).ToList())
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

            var page = await GrainFactory.GetGrain<IUsageHourGrain>(UsageHour.Key(installationId, month, hourIndex)).GetRuns(skip, wanted);
            items.AddRange(page.Items);
            wanted -= page.Items.Count;
            skip = 0;
        }

        return new JobRunPage(items, total);
    }

    private static void Add<TValue>(IDictionary<string, TValue> sum, IReadOnlyDictionary<string, TValue> part)
        where TValue : System.Numerics.INumber<TValue>
    {
        foreach (var (key, value) in part)
        {
            sum[key] = (sum.TryGetValue(key, out var was) ? was : TValue.Zero) + value;
        }
    }
}
