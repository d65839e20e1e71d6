using Microsoft.Extensions.DependencyInjection.Extensions;
using Builtiful.Providers;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;

namespace Builtiful.Simulation;

public static class SimulationServiceCollectionExtensions
{
    /// <summary>The simulated cloud as the compute provider.</summary>
    public static IServiceCollection AddSimulatedCompute(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<SimulationOptions>().Bind(configuration.GetSection(SimulationOptions.Section));
        services.TryAddSingleton<SimulatedFaultLedger>();
        services.TryAddSingleton<SimulatedJobRuns>();
        services.AddSingleton<SimulatedComputeProvider>();
        services.AddSingleton<IComputeProvider>(sp => sp.GetRequiredService<SimulatedComputeProvider>());
        services.AddSingleton<SimulatedRunner>();
        services.AddHttpClient(nameof(SimulatedWebhookSender), client => client.Timeout = TimeSpan.FromSeconds(10));
        services.AddSingleton<SimulatedWebhookSender>();
        return services;
    }

    /// <summary>The simulated GitHub as the source of runner configs.</summary>
    public static IServiceCollection AddSimulatedGitHub(this IServiceCollection services)
    {
        services.AddSingleton<IRunnerConfigSource, SimulatedRunnerConfigSource>();
        return services;
    }
}
