namespace Builtiful.Compute.Ec2;

/// <summary>
/// Coalesces concurrent single-instance calls into one EC2 request: while a request is in flight, new ids queue
/// and go out together in the next one. An idle silo sends at once (no batching window), a busy one spends one
/// token from the bucket per batch instead of one per instance.
/// </summary>
public sealed class Batching<TResult> : IDisposable
{
    private readonly Func<IReadOnlyList<string>, CancellationToken, Task<IReadOnlyDictionary<string, TResult>>> _send;
    private readonly int _maxBatch;
    private readonly TimeSpan _batchTimeout;
    private readonly TimeProvider _time;
    private readonly Lock _gate = new();
    private readonly List<(string Id, TaskCompletionSource<TResult> Result)> _pending = [];
    private readonly CancellationTokenSource _disposed = new();
    private bool _sending;
    private int _disposeCount;

    public Batching(
        Func<IReadOnlyList<string>, CancellationToken, Task<IReadOnlyDictionary<string, TResult>>> send,
        int maxBatch,
        TimeSpan batchTimeout,
        TimeProvider time)
    {
        _send = send;
        _maxBatch = maxBatch;
        _batchTimeout = batchTimeout;
        _time = time;
    }

    public Task<TResult> RunAsync(string id, CancellationToken cancellationToken)
    {
        var result = new TaskCompletionSource<TResult>(TaskCreationOptions.RunContinuationsAsynchronously);
        bool start;
        lock (_gate)
        {
            _pending.Add((id, result));
            start = !_sending;
            _sending = true;
        }

        if (start)
        {
            _ = Task.Run(PumpAsync, CancellationToken.None);
        }

        return result.Task.WaitAsync(cancellationToken);
    }

    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposeCount, 1) == 1)
        {
            return;
        }

        _disposed.Cancel();
        _disposed.Dispose();
    }

    private async Task PumpAsync()
    {
        while (true)
        {
            List<(string Id, TaskCompletionSource<TResult> Result)> batch;
            lock (_gate)
            {
                if (_pending.Count == 0)
                {
                    _sending = false;
                    return;
                }

                batch = [.. _pending.Take(_maxBatch)];
                _pending.RemoveRange(0, batch.Count);
            }

            try
            {
                // Shared by several callers, so bounded by its own timeout rather than any one caller's token.
                using var deadline = new CancellationTokenSource(_batchTimeout, _time);
                using var timeout = CancellationTokenSource.CreateLinkedTokenSource(_disposed.Token, deadline.Token);
                var results = await _send([.. batch.Select(b => b.Id).Distinct(StringComparer.Ordinal)], timeout.Token);
                foreach (var (id, result) in batch)
                {
                    if (results.TryGetValue(id, out var value))
                    {
                        result.TrySetResult(value);
                    }
                    else
                    {
                        result.TrySetException(new InvalidOperationException($"EC2 answered nothing about {id}"));
                    }
                }
            }
            catch (Exception ex)
            {
                foreach (var (_, result) in batch)
                {
                    result.TrySetException(ex);
                }
            }
        }
    }
}
