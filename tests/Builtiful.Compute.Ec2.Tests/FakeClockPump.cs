using Microsoft.Extensions.Time.Testing;

namespace Builtiful.Compute.Ec2.Tests;

/// <summary>
/// Moves a fake clock forward in small steps until work that waits on it is done. Code under test registers its
/// timers asynchronously, so a single big jump could land before a timer exists; small steps cannot miss one.
/// </summary>
public static class FakeClockPump
{
    public static async Task AdvanceUntilAsync(this FakeTimeProvider clock, Func<bool> done, TimeSpan step, TimeSpan maxFakeTime, string what)
    {
        var start = clock.GetUtcNow();
        using var wall = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        while (!done())
        {
            if (clock.GetUtcNow() - start > maxFakeTime || wall.IsCancellationRequested)
            {
                throw new TimeoutException($"{what} did not happen within {maxFakeTime} of fake time (advanced {clock.GetUtcNow() - start})");
            }

            clock.Advance(step);
            // Lets continuations released by the step run before the next one.
            await Task.Delay(2, CancellationToken.None);
        }
    }
}
