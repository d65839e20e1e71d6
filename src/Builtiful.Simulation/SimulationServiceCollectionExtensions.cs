using Builtiful.Providers;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace Builtiful.Simulation;

public static class SimulationServiceCollectionExtensions
{
    /// <summary>The simulated cloud as the compute provider; its VMs' runners talk to the <see cref="GitHub.SimulatedGitHub"/> in the container, if any.</summary>
    public static IServiceCollection AddSimulatedCompute(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<SimulationOptions>().Bind(configuration.GetSection(SimulationOptions.Section)).ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<SimulationOptions>, Cloud.SimulationOptionsValidator>());
        services.TryAddSingleton<SimulatedFaultLedger>();
        services.TryAddSingleton<Cloud.BootTimes>();
        services.TryAddSingleton<Cloud.SimulatedInstanceIdentity>();
        services.AddSingleton<SimulatedComputeProvider>();
        services.AddSingleton<IComputeProvider>(sp => sp.GetRequiredService<SimulatedComputeProvider>());
        return services;
    }
}
