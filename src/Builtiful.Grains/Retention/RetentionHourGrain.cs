using System.Globalization;

namespace Builtiful.Retention;

public sealed class RetentionHourGrain(
    [PersistentState("retention-hour", StorageNames.Grains)] IPersistentState<RetentionHourState> state) : Grain, IRetentionHourGrain
{
    private readonly GroupCommit _commit = new();

    /// <summary>This activation's notice to the sweeper: sent by the first add, again after a failure.</summary>
    private Task? _tracking;

    private RetentionHourState Hour => state.State;

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
            await _commit.WriteAsync(() => state.WriteStateAsync());
        }
        catch
        {
            ids.Remove(id);
            throw;
        }
    }

    public Task<RetentionBatch> Take(int max)
    {
        var jobs = Hour.Jobs.Take(Math.Max(0, max)).ToList();
        var leases = Hour.Leases.Take(Math.Max(0, max - jobs.Count)).ToList();
        return Task.FromResult(new RetentionBatch(jobs, leases));
    }

    public async Task<int> Remove(RetentionBatch batch)
    {
        ArgumentNullException.ThrowIfNull(batch);
        // Only a due hour is swept, long after its last add (adds go to the current hour): nothing adds to it meanwhile.
        var removed = batch.Jobs.Count(Hour.Jobs.Remove) + batch.Leases.Count(Hour.Leases.Remove);
        var remaining = Hour.Jobs.Count + Hour.Leases.Count;
        if (remaining == 0 && state.RecordExists)
        {
            await _commit.ExclusiveAsync(() => state.ClearStateAsync());
            state.State = new RetentionHourState();
            DeactivateOnIdle();
        }
        else if (remaining > 0 && removed > 0)
        {
            await _commit.WriteAsync(() => state.WriteStateAsync());
        }

        return remaining;
    }

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
        return GrainFactory.GetGrain<IRetentionGrain>(installationId).Track(hour);
    }
}
