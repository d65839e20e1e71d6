using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace Builtiful.Telemetry;

public static class TelemetryServiceCollectionExtensions
{
    /// <summary>The lease census (the <c>builtiful.leases</c> gauge, fed by the leases themselves); the static instruments need nothing.</summary>
    public static IServiceCollection AddBuiltifulGrainTelemetry(this IServiceCollection services)
    {
        services.AddMetrics();
        services.TryAddSingleton<LeaseCensus>();
        return services;
    }
}
