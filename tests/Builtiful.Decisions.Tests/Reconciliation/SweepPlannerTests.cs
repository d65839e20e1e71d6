using Builtiful.Providers;
using Builtiful.Reconciliation;
using CsCheck;

namespace Builtiful.Decisions.Tests.Reconciliation;

/// <summary>The sweep's decisions: two sweeps agree before a termination, the cursor covers everyone, failures decide nothing.</summary>
public sealed class SweepPlannerTests
{
    private const string Cluster = "prod";
    private static readonly DateTimeOffset T0 = new(2026, 3, 2, 9, 0, 0, TimeSpan.Zero);
    private static readonly ReconcilerOptions Options = new() { MaxInstancesPerSweep = 3, ConfirmationGap = TimeSpan.FromMinutes(1) };
    private static readonly SweepPlanner Planner = new(Options);

    private static InstanceSummary Vm(string id, string cluster = Cluster, InstanceState state = InstanceState.Running) =>
        new(id, state, new Dictionary<string, string> { [InstanceTags.Cluster] = cluster });

    /// <summary>Suspect before (minutes ago, or none), this sweep's check: terminated?, still suspect after?</summary>
    public static TheoryData<string, int?, string?, bool, bool, bool> Rows => new()
    {
        { "first reason only marks a suspect", null, "no lease", false, false, true },
        { "second reason after the gap terminates", 1, "no lease", false, true, true },
        { "second reason before the gap waits", 0, "no lease", false, false, true },
        { "no reason forgets the suspect", 5, null, false, false, false },
        { "no reason and no suspect stays clear", null, null, false, false, false },
        { "failed check never terminates", 5, null, true, false, true },
        { "failed check never marks", null, null, true, false, false },
    };

    [Theory]
    [MemberData(nameof(Rows))]
    public void A_check_moves_an_instance_between_clear_suspect_and_terminated(string row, int? suspectMinutesAgo, string? reason, bool failed, bool terminated, bool suspectAfter)
    {
        var now = T0.AddMinutes(10);
        var suspects = new Dictionary<string, Suspicion>(StringComparer.Ordinal);
        if (suspectMinutesAgo is { } ago)
        {
            suspects["i-1"] = new Suspicion(now.AddMinutes(-ago), "earlier");
        }

        var state = new SweepState(null, suspects);
        var listed = new[] { Vm("i-1") };
        var window = Planner.Window(state, listed, Cluster);
        var decision = Planner.Decide(state, window, [new InstanceCheck("i-1", reason, failed)], listed, Cluster, now);

        Assert.True(terminated == decision.Terminate.Any(t => t.InstanceId == "i-1"), row);
        Assert.True(suspectAfter == decision.State.Suspects.ContainsKey("i-1"), row);
    }

    [Fact]
    public void Another_clusters_and_finished_instances_are_never_visited()
    {
        var listed = new[] { Vm("i-1", "staging"), Vm("i-2", state: InstanceState.Terminated), Vm("i-3"), new InstanceSummary("i-4", InstanceState.Running, new Dictionary<string, string>()) };

        var window = Planner.Window(SweepState.Empty, listed, Cluster);

        Assert.Equal(["i-3"], window.Visit.Select(i => i.InstanceId));
    }

    [Fact]
    public void The_cursor_continues_where_the_last_sweep_stopped_and_wraps_round()
    {
        var listed = Enumerable.Range(0, 7).Select(i => Vm($"i-{i}")).Reverse().ToList();
        var visited = new List<string[]>();
        var state = SweepState.Empty;
        for (var sweep = 0; sweep < 3; sweep++)
        {
            var window = Planner.Window(state, listed, Cluster);
            visited.Add([.. window.Visit.Select(i => i.InstanceId)]);
            state = Planner.Decide(state, window, [], listed, Cluster, T0).State;
        }

        Assert.Equal(["i-0", "i-1", "i-2"], visited[0]);
        Assert.Equal(["i-3", "i-4", "i-5"], visited[1]);
        Assert.Equal(["i-6", "i-0", "i-1"], visited[2]);
    }

    [Fact]
    public void A_suspect_that_is_gone_is_forgotten_and_one_outside_the_window_is_kept()
    {
        var state = new SweepState("i-2", new Dictionary<string, Suspicion>(StringComparer.Ordinal)
        {
            ["i-gone"] = new(T0, "no lease"),
            ["i-1"] = new(T0, "no lease"),
        });
        var listed = new[] { Vm("i-1"), Vm("i-2"), Vm("i-3"), Vm("i-4"), Vm("i-5") };

        var window = Planner.Window(state, listed, Cluster);
        var decision = Planner.Decide(state, window, [], listed, Cluster, T0.AddHours(1));

        Assert.DoesNotContain("i-1", window.Visit.Select(i => i.InstanceId));
        Assert.Equal(["i-1"], decision.State.Suspects.Keys);
    }

    /// <summary>Random fleets, sweeps and checks: the safety and coverage invariants hold for every sequence.</summary>
    [Fact]
    public void Every_termination_was_agreed_by_two_sweeps_a_gap_apart_and_every_instance_is_visited_within_ceil_n_over_max_sweeps()
    {
        var gen = Gen.Select(Gen.Int[0, 12], Gen.Int[1, 5], Gen.Select(Gen.Int[0, 3], Gen.Int[0, 90]).Array[1, 12]);
        gen.Sample((fleet, max, sweeps) =>
        {
            var planner = new SweepPlanner(new ReconcilerOptions { MaxInstancesPerSweep = max, ConfirmationGap = TimeSpan.FromSeconds(60) });
            var listed = Enumerable.Range(0, fleet).Select(i => Vm($"i-{i:D2}")).ToList();
            var state = SweepState.Empty;
            var now = T0;
            var reasonAt = new Dictionary<string, List<DateTimeOffset>>(StringComparer.Ordinal);
            var lastVisit = listed.ToDictionary(i => i.InstanceId, _ => 0, StringComparer.Ordinal);
            var sweepNumber = 0;
            foreach (var (mode, seconds) in sweeps)
            {
                sweepNumber++;
                now += TimeSpan.FromSeconds(seconds);
                var window = planner.Window(state, listed, Cluster);
                if (window.Visit.Count != Math.Min(fleet, max) || window.Visit.Select(i => i.InstanceId).Distinct().Count() != window.Visit.Count)
                {
                    return false;
                }

                // mode 0: all clear; 1: all unwanted; 2: all checks fail; 3: alternate
                var checks = window.Visit.Select((v, k) => mode switch
                {
                    0 => new InstanceCheck(v.InstanceId, null),
                    1 => new InstanceCheck(v.InstanceId, "no lease"),
                    2 => new InstanceCheck(v.InstanceId, null, Failed: true),
                    _ => new InstanceCheck(v.InstanceId, k % 2 == 0 ? "no lease" : null),
                }).ToList();
                var before = state;
                var decision = planner.Decide(state, window, checks, listed, Cluster, now);
                foreach (var t in decision.Terminate)
                {
                    var check = checks.Single(c => c.InstanceId == t.InstanceId);
                    if (check.Failed || check.Reason is null || !before.Suspects.TryGetValue(t.InstanceId, out var s) || now - s.Since < TimeSpan.FromSeconds(60))
                    {
                        return false;
                    }
                }

                foreach (var v in window.Visit)
                {
                    lastVisit[v.InstanceId] = sweepNumber;
                }

                var bound = fleet == 0 ? 0 : (fleet + max - 1) / max;
                if (sweepNumber >= bound && lastVisit.Values.Any(last => sweepNumber - last >= bound))
                {
                    return false;
                }

                state = decision.State;
            }

            return true;
        });
    }
}
