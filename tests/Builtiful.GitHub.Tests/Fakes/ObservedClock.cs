using System.Threading.Channels;
using Microsoft.Extensions.Time.Testing;

namespace Builtiful.GitHub.Tests.Fakes;

/// <summary>
/// A fake clock that reports each timer as it is armed, so a test advances time only once the code under test
/// is really waiting: no sleeps, no races with the pause being scheduled.
/// </summary>
internal sealed class ObservedClock : FakeTimeProvider
{
    /// <summary>A whole second, so GitHub's epoch-second reset times are exact.</summary>
    public static readonly DateTimeOffset Epoch = new(2026, 3, 2, 9, 0, 0, TimeSpan.Zero);

    private readonly Channel<TimeSpan> _armed = Channel.CreateUnbounded<TimeSpan>();

    public ObservedClock()
        : base(Epoch)
    {
    }

    public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period)
    {
        var timer = base.CreateTimer(callback, state, dueTime, period);
        if (dueTime > TimeSpan.Zero && dueTime != Timeout.InfiniteTimeSpan && !Timeouts.Contains(dueTime))
        {
            _armed.Writer.TryWrite(dueTime);
        }

        return timer;
    }

    /// <summary>Timeouts armed around every call; they are not pauses, so they are not reported.</summary>
    public HashSet<TimeSpan> Timeouts { get; } = [];

    /// <summary>The due time of the next timer armed (or already armed and not yet reported).</summary>
    public async Task<TimeSpan> NextTimerAsync()
    {
        using var bound = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        return await _armed.Reader.ReadAsync(bound.Token);
    }

    public bool AnyTimerArmed => _armed.Reader.TryPeek(out _);
}
