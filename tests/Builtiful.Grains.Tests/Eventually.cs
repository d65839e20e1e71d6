namespace Builtiful.Grains.Tests;

/// <summary>Waits for an observable condition (a reminder has fired, a VM is gone) with a bound, never a fixed sleep.</summary>
internal static class Eventually
{
    private static readonly TimeSpan PollInterval = TimeSpan.FromMilliseconds(25);

    public static async Task<T> Until<T>(Func<Task<T>> probe, Func<T, bool> done, string what, TimeSpan? timeout = null)
    {
        using var deadline = new CancellationTokenSource(timeout ?? TimeSpan.FromSeconds(30));
        T last = await probe();
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
