using Microsoft.Extensions.Logging.Abstractions;
using Orleans.Storage;
using Xunit;

namespace Builtiful.Grains.Tests;

/// <summary>
/// The per-job grains' stored record: operations reach the storage on the caller's turn, never two at once, each
/// against the version the one before left; a storage failure reaches the caller as Orleans' facet reports it.
/// Judged by what the storage below saw, a versioned store that answers when the test says.
/// </summary>
public sealed class StoredStateTests
{
    private static readonly GrainId Grain = GrainId.Create("test", "stored-state");

    [Fact]
    public async Task An_operation_with_none_in_flight_reaches_the_storage_before_the_caller_awaits()
    {
        var storage = new HeldStorage();
        var state = new StoredState<Counter>("counter", Grain, storage, NullLogger.Instance);

        var read = state.ReadStateAsync();

        Assert.Equal(["read"], storage.Calls);
        storage.AnswerNext();
        await read;
        Assert.False(state.RecordExists);
    }

    [Fact]
    public async Task Writes_issued_together_run_one_after_another_each_on_the_version_the_last_one_stored()
    {
        var (storage, state) = await ReadAsync();

        state.State.Value = 1;
        var first = state.WriteStateAsync();
        state.State.Value = 2;
        var second = state.WriteStateAsync();
        var third = state.WriteStateAsync();

        // The second and third wait for the first: the store has seen one write, whatever the callers did meanwhile.
        Assert.Equal(["read", "write"], storage.Calls);
        storage.AnswerNext();
        await first;
        await storage.Reached(3);
        storage.AnswerNext();
        await second;
        await storage.Reached(4);
        storage.AnswerNext();
        await third;

        Assert.Equal(1, storage.MostInFlight);
        Assert.Equal(3, storage.Version);
        Assert.Equal("3", state.Etag);
        Assert.Equal(2, storage.Stored);
        Assert.True(state.RecordExists);
    }

    [Fact]
    public async Task A_storage_failure_reaches_the_caller_with_its_reason_and_the_next_operation_still_runs()
    {
        var (storage, state) = await ReadAsync();

        var failing = state.WriteStateAsync();
        var next = state.WriteStateAsync();
        storage.FailNext(new InvalidOperationException("the database refused the transaction"));

        var error = await Assert.ThrowsAsync<OrleansException>(() => failing);
        Assert.Contains("the database refused the transaction", error.Message, StringComparison.Ordinal);
        Assert.Contains("'counter'", error.Message, StringComparison.Ordinal);
        Assert.IsType<InvalidOperationException>(error.InnerException);

        await storage.Reached(3);
        storage.AnswerNext();
        await next;
        Assert.Equal(1, storage.Version);
    }

    [Fact]
    public async Task A_stale_version_is_refused_as_the_storage_refused_it()
    {
        var (storage, state) = await ReadAsync();
        storage.Version = 5; // another activation wrote meanwhile

        var write = state.WriteStateAsync();
        storage.AnswerNext();

        await Assert.ThrowsAsync<InconsistentStateException>(() => write);
        Assert.Equal(5, storage.Version);
    }

    [Fact]
    public void Whether_the_record_exists_is_not_known_before_it_was_read()
    {
        var state = new StoredState<Counter>("counter", Grain, new HeldStorage(), NullLogger.Instance);

        var error = Assert.Throws<InvalidOperationException>(() => state.RecordExists);
        Assert.Contains("has not been read", error.Message, StringComparison.Ordinal);
    }

    /// <summary>A record over a fresh store, read (no record yet).</summary>
    private static async Task<(HeldStorage Storage, StoredState<Counter> State)> ReadAsync()
    {
        var storage = new HeldStorage();
        var state = new StoredState<Counter>("counter", Grain, storage, NullLogger.Instance);
        var read = state.ReadStateAsync();
        storage.AnswerNext();
        await read;
        return (storage, state);
    }

    public sealed class Counter
    {
        public int Value { get; set; }
    }

    /// <summary>A versioned store whose every call waits until the test answers or fails it.</summary>
    private sealed class HeldStorage : IGrainStorage
    {
        private readonly Queue<TaskCompletionSource> _held = new();
        private readonly object _gate = new();
        private readonly List<(int Calls, TaskCompletionSource Signal)> _watchers = [];
        private int _inFlight;

        /// <summary>Completes once the store has seen this many calls (a signal, not a poll).</summary>
        public Task Reached(int calls)
        {
            lock (_gate)
            {
                if (Calls.Count >= calls)
                {
                    return Task.CompletedTask;
                }

                var signal = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
                _watchers.Add((calls, signal));
                return signal.Task.WaitAsync(TimeSpan.FromSeconds(30));
            }
        }

        public List<string> Calls { get; } = [];

        public int MostInFlight { get; private set; }

        public int Version { get; set; }

        public int Stored { get; private set; }

        public void AnswerNext() => Next().SetResult();

        public void FailNext(Exception failure) => Next().SetException(failure);

        public async Task ReadStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState)
        {
            await Hold("read");
            grainState.RecordExists = Version > 0;
            grainState.ETag = Version > 0 ? Version.ToString(System.Globalization.CultureInfo.InvariantCulture) : null;
        }

        public async Task WriteStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState)
        {
            await Hold("write");
            var expected = Version > 0 ? Version.ToString(System.Globalization.CultureInfo.InvariantCulture) : null;
            if (grainState.ETag != expected)
            {
                throw new InconsistentStateException($"stored version {expected}, written over {grainState.ETag}", expected, grainState.ETag);
            }

            Version++;
            Stored = (grainState.State as Counter)!.Value;
            grainState.ETag = Version.ToString(System.Globalization.CultureInfo.InvariantCulture);
            grainState.RecordExists = true;
        }

        public async Task ClearStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState)
        {
            await Hold("clear");
            grainState.RecordExists = false;
        }

        private async Task Hold(string call)
        {
            var answer = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            lock (_gate)
            {
                Calls.Add(call);
                _held.Enqueue(answer);
                MostInFlight = Math.Max(MostInFlight, ++_inFlight);
                foreach (var watcher in _watchers.Where(w => Calls.Count >= w.Calls).ToList())
                {
                    _watchers.Remove(watcher);
                    watcher.Signal.SetResult();
                }
            }

            try
            {
                await answer.Task;
            }
            finally
            {
                lock (_gate)
                {
                    _inFlight--;
                }
            }
        }

        private TaskCompletionSource Next()
        {
            lock (_gate)
            {
                return _held.Dequeue();
            }
        }
    }
}
