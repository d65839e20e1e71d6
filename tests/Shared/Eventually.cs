namespace Builtiful.Testing;

/// <summary>Waits for an observable condition with a bound, never a fixed sleep.</summary>
public static class Eventually
{
    private static readonly TimeSpan PollInterval = TimeSpan.FromMilliseconds(50);

    public static async Task<T> Until<T>(Func<Task<T>> probe, Func<T, bool> done, string what, TimeSpan? timeout = null)
    {
        using var deadline = new CancellationTokenSource(timeout ?? TimeSpan.FromSeconds(60));
        var last = await probe();
        while (!done(last))
        {
            if (deadline.IsCancellationRequested)
            {
                throw new TimeoutException($"Timed out waiting until {what}; last observed: {last}");
            }

            await Task.Delay(PollInterval, CancellationToken.None);
            last = await probe();
        }

        return last;
    }
}
