using Builtiful.Providers;
using Microsoft.Extensions.DependencyInjection;

namespace Builtiful.Launching;

/// <summary>
/// One account and region's launch bucket for the whole cluster: <c>burst</c> tokens, refilled at <c>perSecond</c> on the
/// injected clock, handed round-robin to the installations that wait, oldest caller first within one installation.
/// </summary>
/// <remarks>
/// Held in memory only: a silo loss resets the bucket to full when the grain reactivates, which at worst grants one burst
/// again (EC2 then throttles for a moment and the throttle backoff absorbs it); persisting every token would cost a write per launch.
/// </remarks>
public sealed class LaunchBudgetGrain([FromKeyedServices(BuiltifulClock.Key)] TimeProvider time) : Grain, ILaunchBudgetGrain
{
    /// <summary>How long one call waits before it answers "ask again": well under Orleans' 30 s response timeout.</summary>
    public static readonly TimeSpan LongPoll = TimeSpan.FromSeconds(10);

    private readonly Dictionary<long, Queue<TaskCompletionSource<bool>>> _waiting = [];
    private readonly Queue<long> _turns = new();
    private double _tokens = double.NaN;
    private DateTimeOffset _refilledAt;
    private int _burst;
    private double _perSecond;
    private bool _pumping;

    public async Task<bool> Acquire(long installationId, int burst, double perSecond)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(burst, 1);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(perSecond);
        Refill(burst, perSecond);
        if (_turns.Count == 0 && _tokens >= 1)
        {
            _tokens--;
            return true;
        }

        var waiter = new TaskCompletionSource<bool>(TaskCreationOptions.RunContinuationsAsynchronously);
        if (!_waiting.TryGetValue(installationId, out var line))
        {
            _waiting[installationId] = line = new Queue<TaskCompletionSource<bool>>();
            _turns.Enqueue(installationId);
        }

        line.Enqueue(waiter);
        if (!_pumping)
        {
            _pumping = true;
            _ = PumpAsync();
        }

        using var poll = new CancellationTokenSource(LongPoll, time);
        using var registration = poll.Token.Register(() => waiter.TrySetResult(false));
        return await waiter.Task;
    }

    public Task<LaunchBudgetView> View()
    {
        var tokens = double.IsNaN(_tokens) ? 0 : Math.Min(_burst, _tokens + ((time.GetUtcNow() - _refilledAt).TotalSeconds * _perSecond));
        var waiting = _waiting
            .Select(w => (w.Key, Count: w.Value.Count(t => !t.Task.IsCompleted)))
            .Where(w => w.Count > 0)
            .ToDictionary(w => w.Key, w => w.Count);
        return Task.FromResult(new LaunchBudgetView { Tokens = tokens, WaitingByInstallation = waiting });
    }

    /// <summary>Grants tokens as the clock refills them, one installation's turn after another, until nobody waits.</summary>
    private async Task PumpAsync()
    {
        try
        {
            while (_turns.Count > 0)
            {
                Refill(_burst, _perSecond);
                while (_tokens >= 1 && _turns.TryDequeue(out var installationId))
                {
                    var line = _waiting[installationId];
                    if (line.TryDequeue(out var waiter) && waiter.TrySetResult(true))
                    {
                        _tokens--;
                    }

                    // A waiter that already answered "ask again" took nothing; the installation keeps its place while it waits.
                    DropAnswered(line);
                    if (line.Count > 0)
                    {
                        _turns.Enqueue(installationId);
                    }
                    else
                    {
                        _waiting.Remove(installationId);
                    }
                }

                if (_turns.Count > 0)
                {
                    var untilNext = TimeSpan.FromSeconds(Math.Max(0, 1 - _tokens) / _perSecond);
                    await Task.Delay(untilNext > TimeSpan.FromMilliseconds(1) ? untilNext : TimeSpan.FromMilliseconds(1), time);
                }
            }
        }
        finally
        {
            _pumping = false;
        }
    }

    private static void DropAnswered(Queue<TaskCompletionSource<bool>> line)
    {
        while (line.TryPeek(out var head) && head.Task.IsCompleted)
        {
            line.Dequeue();
        }
    }

    private void Refill(int burst, double perSecond)
    {
        var now = time.GetUtcNow();
        if (double.IsNaN(_tokens))
        {
            _tokens = burst;
        }
        else
        {
            _tokens = Math.Min(burst, _tokens + ((now - _refilledAt).TotalSeconds * perSecond));
        }

        _refilledAt = now;
        _burst = burst;
        _perSecond = perSecond;
    }
}
