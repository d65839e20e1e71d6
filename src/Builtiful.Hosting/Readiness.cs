using System.Text.Json;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Npgsql;
using Orleans;
using Orleans.Runtime;

namespace Builtiful.Hosting;

/// <summary>
/// <c>/readyz</c>: this process can serve. <c>/healthz</c> only says it is alive; readiness also needs an active silo
/// in the cluster and, with PostgreSQL configured, the database.
/// </summary>
public static class Readiness
{
    public const string Path = "/readyz";
    public const string Tag = "ready";

    /// <summary>A probe answers within a few seconds or the orchestrator gives up on it anyway.</summary>
    internal static readonly TimeSpan CheckTimeout = TimeSpan.FromSeconds(5);

    public static Task WriteAsync(HttpContext context, HealthReport report)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(report);
        context.Response.ContentType = "application/json; charset=utf-8";
        return JsonSerializer.SerializeAsync(context.Response.Body, new
        {
            status = report.Status.ToString().ToLowerInvariant(),
            checks = report.Entries.ToDictionary(e => e.Key, e => new { status = e.Value.Status.ToString().ToLowerInvariant(), detail = e.Value.Description }),
        }, cancellationToken: context.RequestAborted);
    }
}

/// <summary>
/// Asks the cluster's management grain for its active silos; a process still starting or already stopping is not ready,
/// so traffic reaches it only once it serves and drains before it stops.
/// </summary>
public sealed class ClusterReadinessCheck(IGrainFactory grains, IHostApplicationLifetime lifetime) : IHealthCheck
{
    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        if (lifetime.ApplicationStopping.IsCancellationRequested)
        {
            return HealthCheckResult.Unhealthy("shutting down");
        }

        if (!lifetime.ApplicationStarted.IsCancellationRequested)
        {
            return HealthCheckResult.Unhealthy("starting");
        }

        try
        {
            var hosts = await grains.GetGrain<IManagementGrain>(0).GetHosts(onlyActive: true, cancellationToken).WaitAsync(Readiness.CheckTimeout, cancellationToken);
            return hosts.Count > 0
                ? HealthCheckResult.Healthy($"{hosts.Count} active silo(s)")
                : HealthCheckResult.Unhealthy("no active silo");
        }
        catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            return HealthCheckResult.Unhealthy($"the cluster did not answer: {ex.Message}");
        }
    }
}

/// <summary>Runs <c>SELECT 1</c> on the cluster's PostgreSQL when <c>ConnectionStrings:Builtiful</c> is set; in-memory clusters have no database.</summary>
public sealed class DatabaseReadinessCheck(IConfiguration configuration, IServiceProvider services) : IHealthCheck
{
    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        var connectionString = configuration.GetConnectionString("Builtiful");
        if (string.IsNullOrEmpty(connectionString))
        {
            return HealthCheckResult.Healthy("no database configured: state is in memory");
        }

        try
        {
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            timeout.CancelAfter(Readiness.CheckTimeout);
            // The host's own pool when it has one, so the probe sees what the providers see.
            var shared = services.GetService<NpgsqlDataSource>();
            await using var owned = shared is null ? PostgresDatabase.CreateDataSource(connectionString) : null;
            await using var command = (shared ?? owned!).CreateCommand("SELECT 1");
            await command.ExecuteScalarAsync(timeout.Token);
            return HealthCheckResult.Healthy("PostgreSQL answers");
        }
        catch (Exception ex) when (ex is NpgsqlException or OperationCanceledException or TimeoutException or InvalidOperationException)
        {
            return HealthCheckResult.Unhealthy($"PostgreSQL did not answer: {ex.Message}");
        }
    }
}
