using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Diagnostics.HealthChecks;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using OpenTelemetry.Metrics;

namespace Builtiful.Hosting;

/// <summary>Configuration section <c>Management</c>: the listener for the orchestrator and the scraper, apart from the public one.</summary>
public sealed class ManagementOptions
{
    public const string Section = "Management";

    /// <summary>The port of the production silo's and the standalone gateway's management listener unless <c>Management:Port</c> says otherwise.</summary>
    public const int ProductionPort = 9464;

    /// <summary>
    /// The management listener's port (0: any free port). Unset on the embedded host, which then serves these paths on
    /// its public listener: one loopback port for a person on one machine, and no fixed second port for parallel tests to share.
    /// </summary>
    public int? Port { get; set; }

    /// <summary>The address it binds; any address by default, so the kubelet and the scraper reach it on the pod's IP.</summary>
    public string Address { get; set; } = "0.0.0.0";
}

/// <summary>
/// Every Builtiful process's telemetry: OpenTelemetry metrics of every Builtiful meter, exported for Prometheus at
/// <c>/metrics</c> as <c>builtiful_*</c>, liveness at <c>/healthz</c> and readiness at <c>/readyz</c>, on a management
/// listener of their own (<see cref="ManagementServer"/>) so none of it is reachable through the public one.
/// </summary>
public static class Management
{
    public const string MetricsPath = "/metrics";
    public const string HealthPath = "/healthz";

    /// <summary>
    /// <c>Builtiful</c> (grains), <c>Builtiful.Gateway</c>, <c>Builtiful.GitHub</c>, <c>Builtiful.Ec2</c>. Their instruments
    /// are all named <c>builtiful.*</c>, which the exporter writes as <c>builtiful_*</c>, so no view renames anything.
    /// </summary>
    public static readonly string[] Meters = ["Builtiful", "Builtiful.*"];

    /// <summary>
    /// Meters, exporter and readiness checks; the management listener on <c>Management:Port</c>, or on
    /// <paramref name="defaultPort"/> when that is unset (null: the caller maps the paths on its own listener).
    /// </summary>
    public static IHostApplicationBuilder AddBuiltifulManagement(this IHostApplicationBuilder builder, int? defaultPort)
    {
        ArgumentNullException.ThrowIfNull(builder);
        var options = builder.Configuration.GetSection(ManagementOptions.Section).Get<ManagementOptions>() ?? new ManagementOptions();
        options.Port ??= defaultPort;
        if (Problems(options) is { Count: > 0 } problems)
        {
            throw new OptionsValidationException(ManagementOptions.Section, typeof(ManagementOptions), problems);
        }

        builder.Services.Configure<ManagementOptions>(o =>
        {
            o.Port = options.Port;
            o.Address = options.Address;
        });
        builder.Services.AddMetrics();
        builder.Services.AddOpenTelemetry().WithMetrics(metrics => metrics.AddMeter(Meters).AddPrometheusExporter());
        builder.Services.AddHealthChecks()
            .AddCheck<ClusterReadinessCheck>("cluster", tags: [Readiness.Tag])
            .AddCheck<DatabaseReadinessCheck>("database", tags: [Readiness.Tag]);
        if (options.Port is not null)
        {
            builder.Services.TryAddSingleton<ManagementServer>();
            builder.Services.AddHostedService(sp => sp.GetRequiredService<ManagementServer>());
        }

        return builder;
    }

    /// <summary>
    /// On the host's own listener, <c>/metrics</c> and <c>/readyz</c> when no management port is configured (the embedded
    /// default); nothing otherwise, so the public listener answers them 404. Liveness stays the caller's to map.
    /// </summary>
    public static IEndpointRouteBuilder MapBuiltifulManagement(this IEndpointRouteBuilder endpoints)
    {
        ArgumentNullException.ThrowIfNull(endpoints);
        if (endpoints.ServiceProvider.GetRequiredService<IOptions<ManagementOptions>>().Value.Port is null)
        {
            // The orchestrator and the scraper sit inside the network and carry no operator token.
            endpoints.MapPrometheusScrapingEndpoint(MetricsPath).AllowAnonymous();
            endpoints.MapReadiness().AllowAnonymous();
        }

        return endpoints;
    }

    internal static IEndpointConventionBuilder MapReadiness(this IEndpointRouteBuilder endpoints) =>
        endpoints.MapHealthChecks(Readiness.Path, new HealthCheckOptions
        {
            Predicate = check => check.Tags.Contains(Readiness.Tag),
            ResponseWriter = Readiness.WriteAsync,
        });

    private static List<string> Problems(ManagementOptions options)
    {
        var problems = new List<string>();
        if (options.Port is < 0 or > 65535)
        {
            problems.Add($"{ManagementOptions.Section}:Port is {options.Port}; use a TCP port from 1 to 65535 (0 picks a free one), {ManagementOptions.ProductionPort} by default.");
        }

        if (!IPAddress.TryParse(options.Address, out _))
        {
            problems.Add($"{ManagementOptions.Section}:Address is '{options.Address}'; use an IP address such as 0.0.0.0 (every interface) or 127.0.0.1.");
        }

        return problems;
    }
}
