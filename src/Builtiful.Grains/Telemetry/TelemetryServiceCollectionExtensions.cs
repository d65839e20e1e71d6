using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace Builtiful.Telemetry;

public static class TelemetryServiceCollectionExtensions
{
    /// <summary>The lease census (a grain call filter feeding the <c>builtiful.leases</c> gauge); the static instruments need nothing.</summary>
    public static IServiceCollection AddBuiltifulGrainTelemetry(this IServiceCollection services)
    {
        services.AddMetrics();
        services.TryAddSingleton<LeaseCensus>();
        services.AddSingleton<IIncomingGrainCallFilter>(sp => sp.GetRequiredService<LeaseCensus>());
        return services;
    }
}
