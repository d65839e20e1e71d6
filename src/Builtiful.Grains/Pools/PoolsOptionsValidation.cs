using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
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

/// <summary>
/// Makes every configured pool's grain active (its reminder armed, its VMs launched) when a silo starts, then wakes each
/// pool every lease check period for as long as the silo runs. A pool whose silo died is active again on a live silo
/// within one period (its activation ticks at once), without waiting for its reminder's range to move: pool VMs have
/// short idle deadlines, and nothing else calls an idle pool.
/// </summary>
public static class PoolStartup
{
    public static async Task StartAll(IServiceProvider services, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(services);
        var grains = services.GetRequiredService<IGrainFactory>();
        var pools = services.GetRequiredService<IOptions<PoolsOptions>>().Value;
        if (pools.Pools.Count == 0)
        {
            return;
        }

        await Task.WhenAll(pools.Pools.Select(p => grains.Reference<IPoolGrain>(p.Name).Start()));
        var stopping = services.GetRequiredService<IHostApplicationLifetime>().ApplicationStopping;
        var time = services.GetRequiredKeyedService<TimeProvider>(BuiltifulClock.Key);
        var period = services.GetRequiredService<IOptions<Leases.LeaseOptions>>().Value.CheckPeriod;
        var logger = services.GetRequiredService<ILoggerFactory>().CreateLogger(typeof(PoolStartup));
        _ = Task.Run(() => WakeAsync(grains, pools, time, period, logger, stopping), CancellationToken.None);
    }

    private static async Task WakeAsync(IGrainFactory grains, PoolsOptions pools, TimeProvider time, TimeSpan period, ILogger logger, CancellationToken stopping)
    {
        using var timer = new PeriodicTimer(period, time);
        try
        {
            while (await timer.WaitForNextTickAsync(stopping))
            {
                foreach (var pool in pools.Pools)
                {
                    try
                    {
                        await grains.Reference<IPoolGrain>(pool.Name).Wake();
                    }
                    catch (Exception ex) when (ex is not OperationCanceledException)
                    {
                        // The cluster is changing (a silo died): the next period wakes it again.
                        logger.LogDebug("Pool {Pool} did not answer its wake-up: {Error}", pool.Name, ex.Message);
                    }
                }
            }
        }
        catch (OperationCanceledException) when (stopping.IsCancellationRequested)
        {
        }
    }
}
