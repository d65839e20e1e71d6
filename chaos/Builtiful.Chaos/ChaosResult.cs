namespace Builtiful.Chaos;

/// <summary>What a run measured against the invariants of the design.</summary>
public sealed record ChaosResult(
    int Jobs,
    int Faults,
    int LeakedVms,
    int StrandedJobs,
    int ExtraVms,
    int DuplicateUsage,
    double Seconds,
    IReadOnlyDictionary<string, int> FaultsByKind,
    IReadOnlyList<string> Problems)
{
    public bool Passed => LeakedVms == 0 && StrandedJobs == 0 && DuplicateUsage == 0;

    /// <summary>The run's last line, in the form the README and CI read.</summary>
    public string Summary => string.Create(System.Globalization.CultureInfo.InvariantCulture,
        $"chaos: jobs={Jobs} faults={Faults} leaked_vms={LeakedVms} stranded_jobs={StrandedJobs} extra_vms={ExtraVms} duplicate_usage={DuplicateUsage} seconds={Seconds:0}");
}
