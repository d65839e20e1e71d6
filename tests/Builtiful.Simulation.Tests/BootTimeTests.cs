using Builtiful.Simulation.Cloud;
using Microsoft.Extensions.Options;

namespace Builtiful.Simulation.Tests;

/// <summary>The simulated cloud's boot times: today's fixed delay by default, seeded log-normal stages when realistic.</summary>
public sealed class BootTimeTests
{
    [Fact]
    public void By_default_a_VM_boots_in_the_fixed_delay_with_no_further_stages()
    {
        var plan = new BootTimes(Monitor(new SimulationOptions { BootDelay = TimeSpan.FromMilliseconds(250) })).Next();

        Assert.Equal(new BootPlan(TimeSpan.FromMilliseconds(250), TimeSpan.Zero, TimeSpan.Zero), plan);
    }

    [Fact]
    public void Realistic_draws_match_each_stages_median_and_95th_percentile()
    {
        var options = new SimulationOptions { Boot = { Realistic = true, Seed = 11 } };
        var times = new BootTimes(Monitor(options));

        var plans = Enumerable.Range(0, 20_000).Select(_ => times.Next()).ToList();

        AssertShape(plans.Select(p => p.Launch), options.Boot.Launch);
        AssertShape(plans.Select(p => p.OsBoot), options.Boot.OsBoot);
        AssertShape(plans.Select(p => p.RunnerConnect), options.Boot.RunnerConnect);
    }

    [Fact]
    public void The_same_seed_draws_the_same_boots()
    {
        var options = new SimulationOptions { Boot = { Realistic = true, Seed = 3 } };

        var one = new BootTimes(Monitor(options));
        var other = new BootTimes(Monitor(options));

        var first = Enumerable.Range(0, 50).Select(_ => one.Next()).ToList();
        var again = Enumerable.Range(0, 50).Select(_ => other.Next()).ToList();

        Assert.Equal(first, again);
        Assert.Equal(50, first.Distinct().Count());
    }

    [Fact]
    public void A_stage_whose_95th_percentile_is_below_its_median_is_refused_naming_the_key()
    {
        var options = new SimulationOptions
        {
            Boot = { Realistic = true, OsBoot = new BootStage { Median = TimeSpan.FromSeconds(8), P95 = TimeSpan.FromSeconds(4) } },
        };

        var result = new SimulationOptionsValidator().Validate(null, options);

        Assert.True(result.Failed);
        Assert.Contains("Simulation:Boot:OsBoot:P95", result.FailureMessage, StringComparison.Ordinal);
    }

    [Fact]
    public void Stages_are_not_checked_while_boots_are_fixed()
    {
        var options = new SimulationOptions { Boot = { Launch = new BootStage() } };

        Assert.True(new SimulationOptionsValidator().Validate(null, options).Succeeded);
        Assert.True(new SimulationOptionsValidator().Validate(null, new SimulationOptions { Boot = { Realistic = true, Launch = new BootStage() } }).Failed);
    }

    private static void AssertShape(IEnumerable<TimeSpan> draws, BootStage stage)
    {
        var sorted = draws.Select(d => d.TotalSeconds).Order().ToArray();
        var median = sorted[sorted.Length / 2];
        var p95 = sorted[(int)(sorted.Length * 0.95)];
        Assert.InRange(median, stage.Median.TotalSeconds * 0.97, stage.Median.TotalSeconds * 1.03);
        Assert.InRange(p95, stage.P95.TotalSeconds * 0.95, stage.P95.TotalSeconds * 1.05);
    }

    private static Fixed Monitor(SimulationOptions options) => new Fixed(options);

    private sealed class Fixed(SimulationOptions value) : IOptionsMonitor<SimulationOptions>
    {
        public SimulationOptions CurrentValue => value;

        public SimulationOptions Get(string? name) => value;

        public IDisposable? OnChange(Action<SimulationOptions, string?> listener) => null;
    }
}
