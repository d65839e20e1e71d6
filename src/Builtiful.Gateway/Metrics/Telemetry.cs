using Builtiful.Gateway.Webhooks;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using OpenTelemetry.Metrics;

namespace Builtiful.Gateway.Metrics;

/// <summary>OpenTelemetry metrics of every Builtiful meter, exported for Prometheus at <c>/metrics</c> as <c>builtiful_*</c>.</summary>
public static class Telemetry
{
    public const string MetricsPath = "/metrics";

    /// <summary>
    /// <c>Builtiful</c> (grains), <c>Builtiful.Gateway</c>, <c>Builtiful.GitHub</c>, <c>Builtiful.Ec2</c>. Their instruments
    /// are all named <c>builtiful.*</c>, which the exporter writes as <c>builtiful_*</c>, so no view renames anything.
    /// </summary>
    public static readonly string[] Meters = ["Builtiful", "Builtiful.*"];

    public static IHostApplicationBuilder AddBuiltifulTelemetry(this IHostApplicationBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.Services.AddSingleton<WebhookDeliveryMetrics>();
        builder.Services.AddOpenTelemetry().WithMetrics(metrics => metrics.AddMeter(Meters).AddPrometheusExporter());
        builder.Services.AddHealthChecks()
            .AddCheck<ClusterReadinessCheck>("cluster", tags: [Readiness.Tag])
            .AddCheck<DatabaseReadinessCheck>("database", tags: [Readiness.Tag]);
        return builder;
    }

    /// <summary>Both endpoints are for the orchestrator and the scraper inside the cluster network, so they take no token.</summary>
    public static WebApplication MapBuiltifulTelemetry(this WebApplication app)
    {
        ArgumentNullException.ThrowIfNull(app);
        app.UseWebhookDeliveryMetrics();
        app.MapPrometheusScrapingEndpoint(MetricsPath).AllowAnonymous();
        app.MapHealthChecks(Readiness.Path, new Microsoft.AspNetCore.Diagnostics.HealthChecks.HealthCheckOptions
        {
            Predicate = check => check.Tags.Contains(Readiness.Tag),
            ResponseWriter = Readiness.WriteAsync,
        }).AllowAnonymous();
        return app;
    }
}
