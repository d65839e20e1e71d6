using Builtiful.Gateway;
using Builtiful.Gateway.Claims;
using Builtiful.Hosting;
using Microsoft.Extensions.Options;
using Npgsql;
using Orleans.Configuration;
using Orleans.Dashboard;

namespace Builtiful.Gateway.Host;

/// <summary>
/// A gateway replica: verifies and forwards deliveries, serves the admin API and dashboard, holds no state,
/// and finds the silos through the cluster's PostgreSQL membership table. Metrics and readiness are on the management
/// port (<c>Management:Port</c>, 9464 by default), not on the public listener.
/// </summary>
public static class GatewayHost
{
    public static WebApplication Build(string[] args)
    {
        var builder = WebApplication.CreateBuilder(args);
        if (Problems(builder.Configuration) is { Count: > 0 } problems)
        {
            throw new OptionsValidationException(PostgresDatabase.ConnectionStringKey, typeof(GatewayHost), problems);
        }

        var connectionString = PostgresDatabase.ConnectionString(builder.Configuration)!;

        // Defaults in code rather than an appsettings.json, which would collide with the silo's in any process that loads both.
        builder.Logging.AddFilter("Orleans", LogLevel.Warning).AddFilter("Polly", LogLevel.Warning).AddFilter("Microsoft.AspNetCore", LogLevel.Warning);
        builder.AddBuiltifulGateway();
        builder.AddBuiltifulManagement(ManagementOptions.ProductionPort);
        builder.Services.AddPostgresDataSource(connectionString);
        builder.Services.AddOptions<AdoNetClusteringClientOptions>().Configure<NpgsqlDataSource>((o, ds) => o.DataSource = ds);
        builder.UseOrleansClient(client =>
        {
            client.UseAdoNetClustering(o => o.Invariant = PostgresDatabase.Invariant);
            client.Configure<ClusterOptions>(o => ClusterIdentity.Apply(o, builder.Configuration));
            client.UseBuiltifulClusterTls(builder.Configuration);
            client.AddDashboard();
        });

        var app = builder.Build();
        app.MapBuiltifulGateway();
        return app;
    }

    /// <summary>Each reason not to start, naming its key: the database, the secrets replicas share, cluster TLS, the identity certificates runner claims are verified with.</summary>
    public static IReadOnlyList<string> Problems(IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        if (PostgresDatabase.ConnectionString(configuration) is null)
        {
            return [$"{PostgresDatabase.ConnectionStringKey} is not set: a standalone gateway finds its silos through the cluster's PostgreSQL database. " +
                "Set ConnectionStrings__Builtiful, or run the all-in-one (dotnet run --project src/Builtiful.Embedded) instead."];
        }

        return [.. RequiredSecrets.Problems(configuration), .. ClusterTls.Problems(configuration), .. RunnerClaimOptions.Problems(configuration)];
    }
}
