using Builtiful.Providers;
using Microsoft.Extensions.DependencyInjection;

namespace Builtiful.Simulation.Cloud;

public static class RemoteCloudServiceCollectionExtensions
{
    /// <summary>The simulated cloud of another process as the compute provider (<c>Simulation:CloudUrl</c>).</summary>
    public static IServiceCollection AddRemoteSimulatedCompute(this IServiceCollection services, Uri cloudUrl)
    {
        ArgumentNullException.ThrowIfNull(cloudUrl);
        services.AddHttpClient(nameof(RemoteSimulatedCompute), client =>
        {
            client.BaseAddress = cloudUrl;
            client.Timeout = TimeSpan.FromSeconds(30);
        });
        services.AddSingleton<IComputeProvider>(sp => new RemoteSimulatedCompute(
            sp.GetRequiredService<IHttpClientFactory>().CreateClient(nameof(RemoteSimulatedCompute))));
        return services;
    }
}
