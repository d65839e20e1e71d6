namespace Builtiful.Chaos;

/// <summary>What a run measured against the invariants of the design, judged by the simulated GitHub's and cloud's records.</summary>
public sealed record ChaosResult
{
    public required int Jobs { get; init; }

    public required int Faults { get; init; }

    /// <summary>VMs alive at the end, or alive past their deadline plus one reconciler period.</summary>
    public required int LeakedVms { get; init; }

    /// <summary>Jobs that should have run and that GitHub still holds, or that never ran to their end though a VM was launched.</summary>
    public required int StrandedJobs { get; init; }

    /// <summary>VMs launched beyond the jobs that ran on them.</summary>
    public required int ExtraVms { get; init; }

    /// <summary>Billed minutes beyond what GitHub saw run.</summary>
    public required int DuplicateUsage { get; init; }

    /// <summary>Jobs that ran on a Builtiful VM and were never billed.</summary>
    public required int UnbilledJobs { get; init; }

    public required int Approvals { get; init; }

    public required int Redelivered { get; init; }

    public required int SiloKills { get; init; }

    public required double Seconds { get; init; }

    public required IReadOnlyDictionary<string, int> FaultsByKind { get; init; }

    public required IReadOnlyList<string> Problems { get; init; }

    /// <summary>Leases that took a VM of the run's warm pool, as the pool counts them.</summary>
    public long PoolHits { get; init; }

    /// <summary>Leases that asked the pool and found no idle VM.</summary>
    public long PoolMisses { get; init; }

    /// <summary>Pool VMs the cloud saw launched and ended without ever claiming a runner: idle time, not extra VMs for jobs.</summary>
    public int PoolIdleExpired { get; init; }

    /// <summary>Pool VMs whose runner the cloud saw claim a config: jobs the pool served, by the cloud's record.</summary>
    public int PoolRuns { get; init; }

    /// <summary>Jobs queued after the silo's death once the pool had an idle VM again, and how many of them ran on a pool VM.</summary>
    public int LateJobs { get; init; }

    public int LateJobsOnPoolVms { get; init; }

    /// <summary>
    /// Null: the run had no pool (a result built by hand); otherwise the cloud must have seen a pool VM run at least one
    /// job. Which job a pool VM's runner takes is GitHub's choice, so the late jobs' own count is reported, not judged.
    /// </summary>
    public bool? PoolUsed { get; init; }

    /// <summary>The pool's line, printed before the last line.</summary>
    public string PoolSummary => string.Create(System.Globalization.CultureInfo.InvariantCulture,
        $"chaos-pools: hits={PoolHits} misses={PoolMisses} idle_expired={PoolIdleExpired} pool_runs={PoolRuns} late_jobs_on_pool={LateJobsOnPoolVms}/{LateJobs}");

    /// <summary>At most 15 extra VMs per 100 jobs.</summary>
    public bool ExtraVmsWithinBound => ExtraVms * 100 <= 15 * Jobs;

    public bool Passed => LeakedVms == 0 && StrandedJobs == 0 && DuplicateUsage == 0 && UnbilledJobs == 0 && ExtraVmsWithinBound && Problems.Count == 0 && PoolUsed != false;

    /// <summary>The run's last line, in the form the README and CI read.</summary>
    public string Summary => string.Create(System.Globalization.CultureInfo.InvariantCulture,
        $"chaos: jobs={Jobs} faults={Faults} leaked_vms={LeakedVms} stranded_jobs={StrandedJobs} extra_vms={ExtraVms} duplicate_usage={DuplicateUsage} unbilled_jobs={UnbilledJobs} approvals={Approvals} redelivered={Redelivered} silo_kills={SiloKills} seconds={Seconds:0}");
}
