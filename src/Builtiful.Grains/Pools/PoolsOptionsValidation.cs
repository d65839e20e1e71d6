using Builtiful.Machines;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Options;

namespace Builtiful.Pools;

/// <summary>Reads <c>Pools</c> from configuration (the section is a map of pools, so it is read by hand rather than bound).</summary>
public sealed class PoolsOptionsSetup(IConfiguration configuration) : IConfigureOptions<PoolsOptions>
{
    public void Configure(PoolsOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var read = PoolsOptions.Read(configuration);
        options.Pools = read.Pools;
        options.Problems = read.Problems;
    }
}

/// <summary>Checked at start: the section's own problems, and machine types the catalogue does not serve.</summary>
public sealed class PoolsOptionsValidator(MachineCatalogue catalogue) : IValidateOptions<PoolsOptions>
{
    public ValidateOptionsResult Validate(string? name, PoolsOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var problems = new List<string>(options.Problems);
        foreach (var pool in options.Pools.Where(p => p.MachineType.Length > 0))
        {
            if (catalogue.Match([pool.MachineType]).MachineType is null)
            {
                var known = string.Join(", ", catalogue.All.Select(t => t.Label).Order(StringComparer.Ordinal).Take(6));
                problems.Add($"{PoolsOptions.Section}:{pool.Name}:MachineType is {pool.MachineType}; use a machine type of the catalogue, e.g. {known}");
            }
        }

        return problems.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(problems);
    }
}

public static class PoolsOptionsExtensions
{
    /// <summary>The pool that serves <paramref name="machineType"/>, if any.</summary>
    public static PoolSettings? PoolFor(this PoolsOptions options, string machineType)
    {
        ArgumentNullException.ThrowIfNull(options);
        return options.Pools.FirstOrDefault(p => p.MachineType.Equals(machineType, StringComparison.OrdinalIgnoreCase));
    }

    public static PoolSettings? Named(this PoolsOptions options, string name)
    {
        ArgumentNullException.ThrowIfNull(options);
        return options.Pools.FirstOrDefault(p => p.Name.Equals(name, StringComparison.Ordinal));
    }
}

/// <summary>Makes every configured pool's grain active (its reminder armed, its VMs launched) when a silo starts.</summary>
public static class PoolStartup
{
    public static Task StartAll(IServiceProvider services)
    {
        ArgumentNullException.ThrowIfNull(services);
        var grains = (IGrainFactory)services.GetService(typeof(IGrainFactory))!;
        var pools = ((IOptions<PoolsOptions>)services.GetService(typeof(IOptions<PoolsOptions>))!).Value;
        return Task.WhenAll(pools.Pools.Select(p => grains.GetGrain<IPoolGrain>(p.Name).Start()));
    }
}
