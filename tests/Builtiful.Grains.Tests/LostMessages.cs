namespace Builtiful.Grains.Tests;

/// <summary>
/// Loses chosen grain calls before they reach their grain, as a silo dying with a one-way message in its queue does.
/// A test names the interface method and the grain's integer key; everything else passes through. A method can also
/// be made to fail on every grain, as a call does whose silo dies or whose storage is down.
/// </summary>
public sealed class LostMessages : IIncomingGrainCallFilter
{
    private readonly HashSet<(string Method, long Key)> _lost = [];
    private readonly HashSet<string> _failing = new(StringComparer.Ordinal);
    private readonly Lock _gate = new();
    private int _dropped;

    public int Dropped => Volatile.Read(ref _dropped);

    public void Lose(string method, long grainKey)
    {
        lock (_gate)
        {
            _lost.Add((method, grainKey));
        }
    }

    public void Deliver(string method, long grainKey)
    {
        lock (_gate)
        {
            _lost.Remove((method, grainKey));
        }
    }

    /// <summary>Every call of <paramref name="method"/>, on any grain, fails before the grain runs it.</summary>
    public void Fail(string method)
    {
        lock (_gate)
        {
            _failing.Add(method);
        }
    }

    public void Succeed(string method)
    {
        lock (_gate)
        {
            _failing.Remove(method);
        }
    }

    public Task Invoke(IIncomingGrainCallContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        bool lose;
        lock (_gate)
        {
            if (_failing.Contains(context.InterfaceMethod.Name))
            {
                Interlocked.Increment(ref _dropped);
                throw new InvalidOperationException($"{context.InterfaceMethod.Name} failed on the way to {context.TargetId} (a test's fault)");
            }

            lose = _lost.Count > 0 && context.TargetId.TryGetIntegerKey(out var key, out _) && _lost.Contains((context.InterfaceMethod.Name, key));
        }

        if (lose)
        {
            // An empty result, so Orleans sees a completed call (and the grain no failure) but the grain never runs it.
            Interlocked.Increment(ref _dropped);
            context.Result = null;
            return Task.CompletedTask;
        }

        return context.Invoke();
    }
}
