using Builtiful.Gateway.Admin;
using Builtiful.Gateway.Metrics;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;

namespace Builtiful.Gateway;

/// <summary>
/// What operators run the business with: usage, lists and actions, and the delivery metric. Metrics export, liveness
/// and readiness belong to the host's management listener (Builtiful.Hosting's Management), not to the gateway.
/// </summary>
public static class OperationsExtensions
{
    public static IHostApplicationBuilder AddBuiltifulOperations(this IHostApplicationBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.Services.TryAddKeyedSingleton(BuiltifulClock.Key, TimeProvider.System);
        builder.Services.AddMetrics();
        builder.Services.TryAddSingleton<WebhookDeliveryMetrics>();
        return builder;
    }

    public static WebApplication MapBuiltifulOperations(this WebApplication app)
    {
        ArgumentNullException.ThrowIfNull(app);
        app.UseWebhookDeliveryMetrics();
        app.MapOperatorApiV1();
        app.MapUsageApiV1();
        app.MapPoolsApiV1();
        return app;
    }
}
