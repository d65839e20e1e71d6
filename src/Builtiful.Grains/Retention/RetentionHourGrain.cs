using System.Globalization;

namespace Builtiful.Retention;

public sealed class RetentionHourGrain(
    [PersistentState("retention-hour", StorageNames.Grains)] IPersistentState<RetentionHourState> state) : Grain, IRetentionHourGrain
{
    private readonly GroupCommit _commit = new();

    private bool _tracked;

    private RetentionHourState Hour => state.State;

    public async Task AddJob(long jobId)
    {
        if (Hour.Jobs.Add(jobId))
        {
            await _commit.WriteAsync(() => state.WriteStateAsync());
        }

        await TrackAsync();
    }

    public async Task AddLease(Guid leaseId)
    {
        if (Hour.Leases.Add(leaseId))
        {
            await _commit.WriteAsync(() => state.WriteStateAsync());
        }

        await TrackAsync();
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
    /// hour whose first notice was lost with a silo is announced again by the next record.
    /// </summary>
    private async Task TrackAsync()
    {
        if (_tracked)
        {
            return;
        }

        // Set first: interleaved adds announce the hour once, not once each.
        _tracked = true;

        var key = this.GetPrimaryKeyString();
        var colon = key.IndexOf(':', StringComparison.Ordinal);
        var shardColon = key.LastIndexOf(':');
        var installationId = long.Parse(key.AsSpan(0, colon), NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture);
        var hour = DateTimeOffset.ParseExact(key[(colon + 1)..shardColon], "yyyy-MM-ddTHH", CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal);
        try
        {
            await GrainFactory.GetGrain<IRetentionGrain>(installationId).Track(hour);
        }
        catch
        {
            _tracked = false;
            throw;
        }
    }
}
