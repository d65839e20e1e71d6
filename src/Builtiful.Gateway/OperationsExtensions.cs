using Builtiful.Gateway.Admin;
using Builtiful.Gateway.Metrics;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;

namespace Builtiful.Gateway;

/// <summary>What operators run the business with: usage, lists and actions, metrics and readiness.</summary>
public static class OperationsExtensions
{
    public static IHostApplicationBuilder AddBuiltifulOperations(this IHostApplicationBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.Services.TryAddKeyedSingleton(BuiltifulClock.Key, TimeProvider.System);
        return builder.AddBuiltifulTelemetry();
    }

    public static WebApplication MapBuiltifulOperations(this WebApplication app)
    {
        ArgumentNullException.ThrowIfNull(app);
        app.MapBuiltifulTelemetry();
        app.MapOperatorApiV1();
        app.MapUsageApiV1();
        return app;
    }
}
