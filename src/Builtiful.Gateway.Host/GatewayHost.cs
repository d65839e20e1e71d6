using Builtiful.Gateway;
using Builtiful.Hosting;
using Npgsql;
using Orleans.Configuration;
using Orleans.Dashboard;

namespace Builtiful.Gateway.Host;

/// <summary>
/// A gateway replica: verifies and forwards deliveries, serves the admin API and dashboard, holds no state,
/// and finds the silos through the cluster's PostgreSQL membership table.
/// </summary>
public static class GatewayHost
{
    public static WebApplication Build(string[] args)
    {
        var builder = WebApplication.CreateBuilder(args);
        if (PostgresDatabase.ConnectionString(builder.Configuration) is not { } connectionString)
        {
            throw new InvalidOperationException(
                $"{PostgresDatabase.ConnectionStringKey} is not set: a standalone gateway finds its silos through the cluster's PostgreSQL database. " +
                "Set ConnectionStrings__Builtiful, or run the all-in-one (dotnet run --project src/Builtiful.Embedded) instead.");
        }

        if (string.IsNullOrEmpty(builder.Configuration["GitHub:WebhookSecret"])
            || (string.IsNullOrEmpty(builder.Configuration["Admin:Token"]) && !builder.Configuration.GetSection("Admin:Tokens").GetChildren().Any()))
        {
            throw new InvalidOperationException(
                "GitHub:WebhookSecret and Admin:Tokens (or Admin:Token) must be set for a standalone gateway: replicas must share them, so none is generated.");
        }

        // Defaults in code rather than an appsettings.json, which would collide with the silo's in any process that loads both.
        builder.Logging.AddFilter("Orleans", LogLevel.Warning).AddFilter("Polly", LogLevel.Warning).AddFilter("Microsoft.AspNetCore", LogLevel.Warning);
        builder.AddBuiltifulGateway();
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
}
