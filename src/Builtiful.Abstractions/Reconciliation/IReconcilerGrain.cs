namespace Builtiful.Reconciliation;

/// <summary>
/// One per compute provider (key: the provider's name): a reminder-driven sweep that assumes webhooks get lost and
/// silos die, and terminates every instance of this cluster whose lease is over, unknown, or past its deadline.
/// </summary>
[Alias("builtiful.reconciler")]
public interface IReconcilerGrain : IGrainWithStringKey
{
    /// <summary>Arms the sweep's reminder; every silo calls it at start-up.</summary>
    [Alias("start")]
    Task Start();

    /// <summary>Sweeps now (operators, tests) and says what it did.</summary>
    [Alias("sweep")]
    Task<SweepReport> Sweep();
}

/// <summary>
/// One sweep: instances visited (of <see cref="InstancesLive"/> of this cluster), those terminated with their reasons,
/// those first found unwanted this sweep (<see cref="NewSuspects"/>: terminated only if the next sweep agrees), and
/// lease checks that failed (such instances are left alone this sweep).
/// </summary>
[GenerateSerializer, Immutable, Alias("builtiful.sweep-report")]
public sealed record SweepReport(
    [property: Id(0)] int InstancesExamined,
    [property: Id(1)] int Terminated,
    [property: Id(2)] IReadOnlyList<string> Reasons,
    [property: Id(3)] bool Truncated,
    [property: Id(4)] int SlotsFreed = 0)
{
    [Id(5)] public int InstancesLive { get; init; }

    [Id(6)] public IReadOnlyList<string> NewSuspects { get; init; } = [];

    [Id(7)] public int Suspects { get; init; }

    [Id(8)] public int ChecksFailed { get; init; }
}
