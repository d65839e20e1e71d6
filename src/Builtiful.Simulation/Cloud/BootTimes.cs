using Microsoft.Extensions.Options;

namespace Builtiful.Simulation.Cloud;

/// <summary>
/// Configuration section <c>Simulation:Boot</c>: how long a simulated VM takes to become a runner. Off (the default), a
/// VM is running after <see cref="SimulationOptions.BootDelay"/> and claims and connects at once, which keeps tests fast.
/// On (<c>Realistic</c>), each VM draws three stages from log-normal distributions given by their median and 95th
/// percentile; the defaults come from published EC2 and runner figures (docs/performance.md, "Starts").
/// </summary>
public sealed class BootTimeOptions
{
    public const string Section = SimulationOptions.Section + ":Boot";

    public bool Realistic { get; set; }

    /// <summary>Seed for reproducible draws; unset, each run differs.</summary>
    public int? Seed { get; set; }

    /// <summary>RunInstances until the instance is running (EC2's <c>pending</c>: placement, volume, network, power-on).</summary>
    public BootStage Launch { get; set; } = new() { Median = TimeSpan.FromSeconds(10), P95 = TimeSpan.FromSeconds(20) };

    /// <summary>Running until the user data claims the runner config (kernel, systemd, cloud-init's final stage).</summary>
    public BootStage OsBoot { get; set; } = new() { Median = TimeSpan.FromSeconds(7), P95 = TimeSpan.FromSeconds(15) };

    /// <summary>
    /// From the claim's answer until the runner is connected to GitHub and can take a job (runner start, session,
    /// long poll). A pool VM that claims when a job takes it pays only this stage.
    /// </summary>
    public BootStage RunnerConnect { get; set; } = new() { Median = TimeSpan.FromSeconds(3), P95 = TimeSpan.FromSeconds(7) };
}

/// <summary>One stage's log-normal distribution, by its median and 95th percentile.</summary>
public sealed class BootStage
{
    public TimeSpan Median { get; set; }

    public TimeSpan P95 { get; set; }
}

/// <summary>A VM's boot, stage by stage.</summary>
public readonly record struct BootPlan(TimeSpan Launch, TimeSpan OsBoot, TimeSpan RunnerConnect)
{
    public TimeSpan Total => Launch + OsBoot + RunnerConnect;
}

/// <summary>Draws each VM's <see cref="BootPlan"/>: the fixed delay by default, the staged distributions when realistic.</summary>
public sealed class BootTimes(IOptionsMonitor<SimulationOptions> options)
{
    /// <summary>z of the 95th percentile of the standard normal distribution.</summary>
    private const double Z95 = 1.6448536269514722;

    private readonly Lock _gate = new();
    private Random? _random;

    public BootPlan Next()
    {
        var current = options.CurrentValue;
        var boot = current.Boot;
        if (!boot.Realistic)
        {
            return new BootPlan(current.BootDelay, TimeSpan.Zero, TimeSpan.Zero);
        }

        lock (_gate)
        {
            _random ??= boot.Seed is { } seed ? new Random(seed) : new Random();
            return new BootPlan(Draw(boot.Launch, _random), Draw(boot.OsBoot, _random), Draw(boot.RunnerConnect, _random));
        }
    }

    /// <summary>exp(μ + σz) with μ = ln(median) and σ = ln(p95 / median) / z₉₅, z standard normal (Box–Muller).</summary>
    public static TimeSpan Draw(BootStage stage, Random random)
    {
        ArgumentNullException.ThrowIfNull(stage);
        ArgumentNullException.ThrowIfNull(random);
        var median = stage.Median.TotalSeconds;
        var sigma = Math.Log(stage.P95.TotalSeconds / median) / Z95;
        var z = Math.Sqrt(-2 * Math.Log(1 - random.NextDouble())) * Math.Cos(2 * Math.PI * random.NextDouble());
        return TimeSpan.FromSeconds(median * Math.Exp(sigma * z));
    }
}

/// <summary>Each realistic stage needs a positive median and a 95th percentile at least as long; the error names the key.</summary>
public sealed class SimulationOptionsValidator : IValidateOptions<SimulationOptions>
{
    public ValidateOptionsResult Validate(string? name, SimulationOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        List<string> failures = [];
        if (options.BootDelay < TimeSpan.Zero)
        {
            failures.Add($"{SimulationOptions.Section}:BootDelay is {options.BootDelay}; use zero or a positive time span such as 00:00:03.");
        }

        if (options.Boot.Realistic)
        {
            Check(nameof(BootTimeOptions.Launch), options.Boot.Launch);
            Check(nameof(BootTimeOptions.OsBoot), options.Boot.OsBoot);
            Check(nameof(BootTimeOptions.RunnerConnect), options.Boot.RunnerConnect);
        }

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);

        void Check(string stage, BootStage value)
        {
            var key = $"{BootTimeOptions.Section}:{stage}";
            if (value.Median <= TimeSpan.Zero)
            {
                failures.Add($"{key}:Median is {value.Median}; use a positive time span such as 00:00:05.");
            }
            else if (value.P95 < value.Median)
            {
                failures.Add($"{key}:P95 is {value.P95}, shorter than its Median ({value.Median}); use a P95 at least as long as the median.");
            }
        }
    }
}
