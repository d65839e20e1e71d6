namespace Builtiful;

/// <summary>
/// A grain's storage operations, one at a time, with group commit: a write asked for while another is in flight joins the
/// write already queued behind it, if there is one. A queued write takes what it stores only when it starts, after every
/// change whose caller joined it, so each caller's change is stored by the write it awaits; a write that fails fails every
/// caller that joined it.
/// </summary>
/// <remarks>
/// For a grain activation's own scheduler, whose continuations never run inside the turn that queued them: a write queued
/// in a turn cannot start before that turn has listed it as the one to join.
/// </remarks>
public sealed class GroupCommit
{
    /// <summary>Completes, never faulted, when the last operation queued has ended.</summary>
    private Task _last = Task.CompletedTask;

    /// <summary>The write queued behind the one in flight, not yet started: callers join it.</summary>
    private Task? _queued;

    /// <summary>Completes, never faulted, once every operation queued so far has ended, successfully or not.</summary>
    public Task Settled => _last;

    /// <summary>Stores the grain's state as it is when the write starts: at once, or after the operation in flight.</summary>
    public Task WriteAsync(Func<Task> write)
    {
        ArgumentNullException.ThrowIfNull(write);
        if (_queued is { } queued)
        {
            return queued;
        }

        if (_last.IsCompleted)
        {
            // Starts now and takes what it stores now: nothing may join it.
            return EnqueueAsync(write);
        }

        var next = EnqueueAsync(() =>
        {
            _queued = null;
            return write();
        });
        _queued = next.IsCompleted ? null : next;
        return next;
    }

    /// <summary>An operation that stores what it decides itself (a clear, a scrub): after the one in flight, never joined.</summary>
    public Task ExclusiveAsync(Func<Task> operation)
    {
        ArgumentNullException.ThrowIfNull(operation);
        return EnqueueAsync(operation);
    }

    private async Task EnqueueAsync(Func<Task> operation)
    {
        var previous = _last;
        var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        _last = done.Task;
        try
        {
            await previous;
            await operation();
        }
        finally
        {
            done.SetResult();
        }
    }
}
