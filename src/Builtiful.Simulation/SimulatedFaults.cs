using System.Collections.Concurrent;

namespace Builtiful.Simulation;

/// <summary>
/// Configuration section <c>Simulation:Faults</c>: how often the simulated cloud misbehaves (GitHub's delivery faults
/// are <c>Simulation:GitHub</c>'s). All zero by default; the chaos suite turns them up.
/// </summary>
public sealed class SimulatedFaultOptions
{
    /// <summary>RunInstances answers "insufficient capacity" and launches nothing.</summary>
    public double LaunchCapacityErrorRate { get; set; }

    /// <summary>The VM is launched but the answer is lost on the way back.</summary>
    public double LostLaunchResponseRate { get; set; }

    /// <summary>TerminateInstances answers with a server error and terminates nothing.</summary>
    public double TerminateErrorRate { get; set; }

    /// <summary>The VM never boots far enough for its runner to start.</summary>
    public double BootFailureRate { get; set; }

    /// <summary>Seed for reproducible runs; unset, each run differs.</summary>
    public int? Seed { get; set; }
}

/// <summary>Draws faults and counts the ones injected, so a chaos run can report how hard it was pushed.</summary>
public sealed class SimulatedFaultLedger
{
    private readonly ConcurrentDictionary<string, int> _injected = new(StringComparer.Ordinal);
    private readonly Lock _gate = new();
    private Random? _random;

    public IReadOnlyDictionary<string, int> Injected => new Dictionary<string, int>(_injected, StringComparer.Ordinal);

    public int Total => _injected.Values.Sum();

    /// <summary>True with the given probability; counts it under <paramref name="kind"/> when true.</summary>
    public bool Strike(string kind, double rate, int? seed)
    {
        if (rate <= 0)
        {
            return false;
        }

        bool hit;
        lock (_gate)
        {
            _random ??= seed is { } s ? new Random(s) : new Random();
            hit = _random.NextDouble() < rate;
        }

        if (hit)
        {
            _injected.AddOrUpdate(kind, 1, (_, n) => n + 1);
        }

        return hit;
    }

    /// <summary>For faults injected outside the simulator (the chaos driver's own, silo kills).</summary>
    public void Count(string kind, int n = 1) => _injected.AddOrUpdate(kind, n, (_, total) => total + n);
}

/// <summary>A simulated cloud error; transient, so a lease retries. Serializable, so it crosses silos inside a lease's launch error.</summary>
[GenerateSerializer, Alias("builtiful.simulated-cloud-exception")]
public sealed class SimulatedCloudException : Exception
{
    public SimulatedCloudException()
    {
    }

    public SimulatedCloudException(string message)
        : base(message)
    {
    }

    public SimulatedCloudException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
