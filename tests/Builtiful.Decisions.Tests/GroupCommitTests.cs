namespace Builtiful.Decisions.Tests;

/// <summary>
/// <see cref="GroupCommit"/> on a scheduler that runs one task at a time, as a grain activation's does: writes asked for
/// while one is in flight share the next, which stores what was decided when it starts.
/// </summary>
public sealed class GroupCommitTests
{
    private static readonly TaskScheduler Activation = new ConcurrentExclusiveSchedulerPair().ExclusiveScheduler;

    private static Task OnActivation(Func<Task> test) =>
        Task.Factory.StartNew(test, CancellationToken.None, TaskCreationOptions.None, Activation).Unwrap();

    [Fact]
    public Task Changes_made_while_a_write_is_in_flight_are_stored_together_by_the_next_write() => OnActivation(async () =>
    {
        var commit = new GroupCommit();
        var slow = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var value = 0;
        var stored = new List<int>();

        async Task WriteAsync()
        {
            var taken = value;
            if (stored.Count == 0 && !slow.Task.IsCompleted)
            {
                await slow.Task;
            }

            stored.Add(taken);
        }

        value = 1;
        var first = commit.WriteAsync(WriteAsync);
        var joined = new List<Task>();
        for (var change = 2; change <= 6; change++)
        {
            value = change;
            joined.Add(commit.WriteAsync(WriteAsync));
        }

        Assert.False(first.IsCompleted);
        Assert.All(joined, t => Assert.Same(joined[0], t));
        slow.SetResult();
        await Task.WhenAll([first, .. joined]);

        // The first write stored what it found when it started; one more stored the five changes made meanwhile.
        Assert.Equal([1, 6], stored);

        // Nothing in flight: the next write starts at once, on its own.
        value = 7;
        await commit.WriteAsync(WriteAsync);
        Assert.Equal([1, 6, 7], stored);
    });

    [Fact]
    public Task A_write_that_fails_fails_every_change_it_carried_and_the_next_write_starts_afresh() => OnActivation(async () =>
    {
        var commit = new GroupCommit();
        var slow = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var writes = 0;

        var first = commit.WriteAsync(async () =>
        {
            writes++;
            await slow.Task;
        });
        var a = commit.WriteAsync(() => Fail(ref writes));
        var b = commit.WriteAsync(() => Fail(ref writes));
        slow.SetResult();
        await first;

        Assert.Same(a, b);
        var failure = await Assert.ThrowsAsync<InvalidOperationException>(() => a);
        Assert.Equal("the database refused the write", failure.Message);
        Assert.Equal(2, writes);

        await commit.WriteAsync(() =>
        {
            writes++;
            return Task.CompletedTask;
        });
        Assert.Equal(3, writes);
    });

    [Fact]
    public Task An_exclusive_operation_runs_after_the_write_in_flight_and_is_never_joined() => OnActivation(async () =>
    {
        var commit = new GroupCommit();
        var slow = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var order = new List<string>();

        var write = commit.WriteAsync(async () =>
        {
            await slow.Task;
            order.Add("write");
        });
        var clear = commit.ExclusiveAsync(() =>
        {
            order.Add("clear");
            return Task.CompletedTask;
        });
        var after = commit.WriteAsync(() =>
        {
            order.Add("write after the clear");
            return Task.CompletedTask;
        });

        Assert.NotSame(clear, after);
        slow.SetResult();
        await Task.WhenAll(write, clear, after);
        Assert.Equal(["write", "clear", "write after the clear"], order);
    });

    private static Task Fail(ref int writes)
    {
        writes++;
        return Task.FromException(new InvalidOperationException("the database refused the write"));
    }
}
