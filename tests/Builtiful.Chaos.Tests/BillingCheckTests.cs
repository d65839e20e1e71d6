using Builtiful.Chaos;
using Builtiful.Leases;
using Builtiful.Simulation.GitHub;
using Builtiful.Usage;

namespace Builtiful.Chaos.Tests;

/// <summary>The chaos run's duplicate_usage: billed minutes beyond what GitHub saw run, rounded as billing rounds.</summary>
public sealed class BillingCheckTests
{
    private static readonly DateTimeOffset Start = new(2026, 3, 2, 9, 0, 0, TimeSpan.Zero);
    private static readonly Guid LeaseId = Guid.NewGuid();

    [Fact]
    public void A_job_billed_what_it_ran_rounded_up_to_the_minute_is_not_overbilled()
    {
        var run = Ran(TimeSpan.FromSeconds(61));

        Assert.Equal(0, ChaosBilling.Overbilled(Billed(2), [run], first: true, out _));
    }

    [Fact]
    public void Minutes_beyond_the_real_run_are_overbilled()
    {
        var run = Ran(TimeSpan.FromSeconds(20));

        Assert.Equal(2, ChaosBilling.Overbilled(Billed(3), [run], first: true, out var why));
        Assert.Contains("1 min", why, StringComparison.Ordinal);
    }

    [Fact]
    public void A_job_no_runner_ran_or_billed_twice_is_overbilled_in_full()
    {
        Assert.Equal(1, ChaosBilling.Overbilled(Billed(1), [], first: true, out var never));
        Assert.Contains("no Builtiful runner", never, StringComparison.Ordinal);
        Assert.Equal(1, ChaosBilling.Overbilled(Billed(1), [Ran(TimeSpan.FromSeconds(5))], first: false, out var twice));
        Assert.Contains("already billed", twice, StringComparison.Ordinal);
    }

    [Fact]
    public void The_summary_line_names_every_figure_the_README_reads()
    {
        var result = new ChaosResult
        {
            Jobs = 200, Faults = 80, LeakedVms = 0, StrandedJobs = 0, ExtraVms = 31, DuplicateUsage = 0, UnbilledJobs = 0,
            Approvals = 12, Redelivered = 15, SiloKills = 1, Seconds = 90, FaultsByKind = new Dictionary<string, int>(), Problems = [],
        };

        Assert.Equal(
            "chaos: jobs=200 faults=80 leaked_vms=0 stranded_jobs=0 extra_vms=31 duplicate_usage=0 unbilled_jobs=0 approvals=12 redelivered=15 silo_kills=1 seconds=90",
            result.Summary);
        Assert.False(result.ExtraVmsWithinBound);
        Assert.False(result.Passed);
        Assert.True((result with { ExtraVms = 30 }).Passed);
    }

    private static JobRecord Ran(TimeSpan duration) => new(
        42, 7, "acme/api", ["builtiful-2vcpu-ubuntu-2404"], null, SimulatedJobStatus.Completed, CompletionCause.Ran, "success",
        Start, Start, Start, Start + duration, RunnerNames.ForLease(LeaseId), false);

    private static JobRun Billed(long minutes) => new()
    {
        JobId = 42,
        MachineType = "builtiful-2vcpu-ubuntu-2404",
        LeaseId = LeaseId,
        StartedAt = Start,
        CompletedAt = Start.AddMinutes(minutes),
        BillableMinutes = minutes,
    };
}
