using Builtiful.Silo.Storage;
using Microsoft.Extensions.DependencyInjection;
using Orleans.Serialization;
using Orleans.Storage;

namespace Builtiful.Silo.Tests;

/// <summary>
/// The embedded default's storage keeps each state as bytes with a version: what a grain reads back is what it wrote,
/// not the object it kept changing, and a writer holding an old version is refused without changing anything.
/// </summary>
public sealed class EmbeddedGrainStorageTests
{
    private static readonly Serializer Serializer = new ServiceCollection().AddSerializer().BuildServiceProvider().GetRequiredService<Serializer>();

    private readonly EmbeddedGrainStorage _storage = new(new OrleansGrainStorageSerializer(Serializer));

    private static readonly GrainId Grain = GrainId.Create("job", "4242");

    private async Task<GrainState<List<string>>> ReadAsync(string stateName = "job", GrainId? grainId = null)
    {
        var state = new GrainState<List<string>>([]);
        await _storage.ReadStateAsync(stateName, grainId ?? Grain, state);
        return state;
    }

    [Fact]
    public async Task A_state_reads_back_as_written_and_not_as_the_writer_changed_it_since()
    {
        Assert.False((await ReadAsync()).RecordExists);

        var written = new GrainState<List<string>>(["queued"]);
        await _storage.WriteStateAsync("job", Grain, written);
        written.State!.Add("in_progress"); // changed in memory, not written

        var read = await ReadAsync();
        Assert.True(read.RecordExists);
        Assert.Equal(["queued"], read.State);
        Assert.Equal(written.ETag, read.ETag);
        Assert.Empty((await ReadAsync("lease")).State!); // another state of the same grain
        Assert.Empty((await ReadAsync(grainId: GrainId.Create("job", "4243"))).State!);
    }

    [Fact]
    public async Task A_write_from_an_old_version_is_refused_and_changes_nothing()
    {
        var first = new GrainState<List<string>>(["queued"]);
        await _storage.WriteStateAsync("job", Grain, first);
        var stale = await ReadAsync();

        first.State = ["queued", "in_progress"];
        await _storage.WriteStateAsync("job", Grain, first);
        Assert.NotEqual(stale.ETag, first.ETag);

        stale.State = ["queued", "cancelled"];
        var refused = await Assert.ThrowsAsync<InconsistentStateException>(() => _storage.WriteStateAsync("job", Grain, stale));
        Assert.Contains("state 'job' of job/4242", refused.Message, StringComparison.Ordinal);
        Assert.Contains($"version {first.ETag}", refused.Message, StringComparison.Ordinal);
        Assert.Equal(["queued", "in_progress"], (await ReadAsync()).State);

        var neverRead = new GrainState<List<string>>(["queued"]);
        await Assert.ThrowsAsync<InconsistentStateException>(() => _storage.WriteStateAsync("job", Grain, neverRead));
    }

    [Fact]
    public async Task A_clear_needs_the_current_version_and_leaves_nothing_to_read()
    {
        var state = new GrainState<List<string>>(["completed"]);
        await _storage.WriteStateAsync("job", Grain, state);
        var stale = await ReadAsync();
        await _storage.WriteStateAsync("job", Grain, state);

        await Assert.ThrowsAsync<InconsistentStateException>(() => _storage.ClearStateAsync("job", Grain, stale));
        Assert.True((await ReadAsync()).RecordExists);

        await _storage.ClearStateAsync("job", Grain, state);
        Assert.Null(state.ETag);
        Assert.False(state.RecordExists);
        Assert.False((await ReadAsync()).RecordExists);
        Assert.Equal(0, _storage.Count);

        await _storage.WriteStateAsync("job", Grain, state); // written again from nothing
        Assert.Equal(["completed"], (await ReadAsync()).State);
    }

    [Fact]
    public async Task Of_writers_racing_from_one_version_exactly_one_wins()
    {
        await _storage.WriteStateAsync("job", Grain, new GrainState<List<string>>(["queued"]));
        var version = (await ReadAsync()).ETag;

        var writers = Enumerable.Range(0, 64).Select(i => Task.Run(async () =>
        {
            try
            {
                await _storage.WriteStateAsync("job", Grain, new GrainState<List<string>>([$"writer {i}"], version));
                return true;
            }
            catch (InconsistentStateException)
            {
                return false;
            }
        })).ToList();

        var won = await Task.WhenAll(writers);
        Assert.Equal(1, won.Count(w => w));
        Assert.Equal([$"writer {Array.IndexOf(won, true)}"], (await ReadAsync()).State);
    }
}
