using System.Globalization;

namespace Builtiful.Retention;

/// <summary>
/// One installation's records first seen in one hour. Adds share writes (group commit) and a write never carries more
/// than a page: a full open page is sealed first into a page grain of its own (<see cref="RetentionKeys.Page"/>, the same
/// grain type, which only ever holds that page), so the bytes a write stores do not grow with the hour's jobs.
/// </summary>
public sealed class RetentionHourGrain(
    [PersistentState("retention-hour", StorageNames.Grains)] IPersistentState<RetentionHourState> state) : Grain, IRetentionHourGrain
{
    private readonly GroupCommit _commit = new();

    /// <summary>This activation's notice to the sweeper: sent by the first add, again after a failure.</summary>
    private Task? _tracking;

    private RetentionHourState Hour => state.State;

    private int Open => Hour.Jobs.Count + Hour.Leases.Count;

    public async Task AddJob(long jobId)
    {
        await AddAsync(Hour.Jobs, jobId);
        await TrackAsync();
    }

    public async Task AddLease(Guid leaseId)
    {
        await AddAsync(Hour.Leases, leaseId);
        await TrackAsync();
    }

    /// <summary>
    /// Answered once the id is stored: by the write that carries it, or, for an id already listed, by the writes queued
    /// so far (one of them carries it). A failed write unlists the id, so its caller's retry writes it again.
    /// </summary>
    private async Task AddAsync<T>(HashSet<T> ids, T id)
    {
        if (!ids.Add(id))
        {
            await _commit.Settled;
            return;
        }

        try
        {
            await _commit.WriteAsync(WriteAsync);
        }
        catch
        {
            ids.Remove(id);
            throw;
        }
    }

    /// <summary>
    /// Stores the shard, first sealing its open page into the next page grain when it is full. The page is stored before
    /// the shard that counts it: a shard restarted from before the seal still lists the page's ids and seals them again
    /// into the same page grain (which adds them to what it holds), so no stored id is ever only in memory.
    /// </summary>
    private async Task WriteAsync()
    {
        if (Open >= RetentionKeys.PageSize)
        {
            var page = new RetentionBatch([.. Hour.Jobs], [.. Hour.Leases]);
            await PageGrain(Hour.Pages.Count).Seal(page);

            // Adds made while the page was written stay open: they are stored by this write and counted by the next.
            Hour.Jobs.ExceptWith(page.Jobs);
            Hour.Leases.ExceptWith(page.Leases);
            Hour.Pages.Add(page.Count);
        }

        await state.WriteStateAsync();
    }

    public async Task Seal(RetentionBatch page)
    {
        ArgumentNullException.ThrowIfNull(page);
        Hour.Jobs.UnionWith(page.Jobs);
        Hour.Leases.UnionWith(page.Leases);
        await _commit.WriteAsync(() => state.WriteStateAsync());
    }

    public async Task<RetentionBatch> Take(int max)
    {
        // Sealed pages first, newest first, so a page emptied by the sweep is always the last one counted.
        while (Hour.Pages.Count > 0)
        {
            var batch = await PageGrain(Hour.Pages.Count - 1).Take(max);
            if (batch.Count > 0)
            {
                return batch;
            }

            // Emptied by a sweep whose own count of it was not stored: nothing left there.
            await DropLastPageAsync();
        }

        var jobs = Hour.Jobs.Take(Math.Max(0, max)).ToList();
        var leases = Hour.Leases.Take(Math.Max(0, max - jobs.Count)).ToList();
        return new RetentionBatch(jobs, leases);
    }

    public async Task<int> Remove(RetentionBatch batch)
    {
        ArgumentNullException.ThrowIfNull(batch);
        if (Hour.Pages.Count > 0)
        {
            // The batch came from the last page (Take): that page removes it and deletes itself once empty.
            var left = await PageGrain(Hour.Pages.Count - 1).Remove(batch);
            if (left > 0)
            {
                Hour.Pages[^1] = left;
            }
            else
            {
                await DropLastPageAsync();
            }

            return Hour.Pages.Sum() + Open;
        }

        // Only a due hour is swept, long after its last add (adds go to the current hour): nothing adds to it meanwhile.
        var removed = batch.Jobs.Count(Hour.Jobs.Remove) + batch.Leases.Count(Hour.Leases.Remove);
        var remaining = Open;
        if (remaining == 0 && state.RecordExists)
        {
            await ClearAsync();
        }
        else if (remaining > 0 && removed > 0)
        {
            await _commit.WriteAsync(() => state.WriteStateAsync());
        }

        return remaining;
    }

    private async Task DropLastPageAsync()
    {
        Hour.Pages.RemoveAt(Hour.Pages.Count - 1);
        if (Hour.Pages.Count == 0 && Open == 0 && state.RecordExists)
        {
            await ClearAsync();
            return;
        }

        await _commit.WriteAsync(() => state.WriteStateAsync());
    }

    /// <summary>The shard (or page) holds nothing more: its record goes, and so does the activation.</summary>
    private async Task ClearAsync()
    {
        await _commit.ExclusiveAsync(() => state.ClearStateAsync());
        state.State = new RetentionHourState();
        DeactivateOnIdle();
    }

    private IRetentionHourGrain PageGrain(int page) => GrainFactory.Reference<IRetentionHourGrain>(RetentionKeys.Page(this.GetPrimaryKeyString(), page));

    /// <summary>
    /// Tells the installation's sweeper once per activation (one-way: the sweeper calls hours, never the reverse), so an
    /// hour whose first notice was lost with a silo is announced again by the next record. Interleaved adds share one
    /// notice and each waits for it; a failed notice is sent again by the next add.
    /// </summary>
    private Task TrackAsync()
    {
        if (_tracking is null || _tracking.IsFaulted || _tracking.IsCanceled)
        {
            _tracking = TellSweeperAsync();
        }

        return _tracking;
    }

    private Task TellSweeperAsync()
    {
        var key = this.GetPrimaryKeyString();
        var colon = key.IndexOf(':', StringComparison.Ordinal);
        var shardColon = key.LastIndexOf(':');
        var installationId = long.Parse(key.AsSpan(0, colon), NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture);
        var hour = DateTimeOffset.ParseExact(key[(colon + 1)..shardColon], "yyyy-MM-ddTHH", CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal);
        return GrainFactory.Reference<IRetentionGrain>(installationId).Track(hour);
    }
}
