using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using OpenTelemetry.Metrics;

namespace Builtiful.Hosting;

/// <summary>
/// The management listener: a Kestrel server of its own on <c>Management:Port</c> serving only <c>/metrics</c>,
/// <c>/healthz</c> and <c>/readyz</c>. A separate server rather than a second address of the public one, so no public
/// route, middleware or forged Host header reaches these paths, and the public listener's configuration stays the host's.
/// </summary>
public sealed class ManagementServer(IServiceProvider services, IOptions<ManagementOptions> options) : IHostedService, IAsyncDisposable
{
    private WebApplication? _server;

    /// <summary>The bound addresses once started (the real port when <c>Management:Port</c> is 0).</summary>
    public IReadOnlyList<Uri> Addresses { get; private set; } = [];

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        var settings = options.Value;
        var builder = WebApplication.CreateEmptyBuilder(new WebApplicationOptions());
        builder.WebHost.UseKestrelCore().ConfigureKestrel(kestrel => kestrel.Listen(IPAddress.Parse(settings.Address), settings.Port ?? 0));
        builder.Services.AddRoutingCore();

        // This process's own logging and health checks: the listener is a window onto the host, not a second host.
        builder.Services.AddSingleton(services.GetRequiredService<ILoggerFactory>());
        builder.Services.AddSingleton(services.GetRequiredService<HealthCheckService>());
        var server = builder.Build();
        server.MapGet(Management.HealthPath, () => Results.Text("{\"status\":\"ok\"}", "application/json"));
        server.MapReadiness();
        server.MapPrometheusScrapingEndpoint(Management.MetricsPath, services.GetRequiredService<MeterProvider>(), configureBranchedPipeline: null, optionsName: null);
        await server.StartAsync(cancellationToken);
        _server = server;
        Addresses = [.. server.Urls.Select(url => new Uri(url))];
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        if (_server is not null)
        {
            await _server.StopAsync(cancellationToken);
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (_server is not null)
        {
            await _server.DisposeAsync();
            _server = null;
        }
    }
}
