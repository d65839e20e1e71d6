using Builtiful.Chaos;
using Builtiful.Leases;
using Builtiful.Simulation;
using Builtiful.Usage;

namespace Builtiful.Chaos.Tests;

/// <summary>The chaos run's duplicate_usage: billed minutes beyond what the simulator saw run, rounded as billing rounds.</summary>
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
        Assert.Contains("no runner", never, StringComparison.Ordinal);
        Assert.Equal(1, ChaosBilling.Overbilled(Billed(1), [Ran(TimeSpan.FromSeconds(5))], first: false, out var twice));
        Assert.Contains("already billed", twice, StringComparison.Ordinal);
    }

    private static SimulatedJobRun Ran(TimeSpan duration)
    {
        var run = new SimulatedJobRun(42, 7, RunnerNames.ForLease(LeaseId), Start);
        run.Ended(Start + duration, "success");
        return run;
    }

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
