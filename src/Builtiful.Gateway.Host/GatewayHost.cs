using Builtiful.Gateway;
using Builtiful.Gateway.Security;
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
        var connectionString = builder.Configuration.GetConnectionString("Builtiful");
        if (string.IsNullOrEmpty(connectionString))
        {
            throw new InvalidOperationException(
                "ConnectionStrings:Builtiful is not set: a standalone gateway finds its silos through the cluster's PostgreSQL database. " +
                "Set ConnectionStrings__Builtiful, or run the all-in-one (dotnet run --project src/Builtiful.Silo) instead.");
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
        builder.Services.AddSingleton(_ => NpgsqlDataSource.Create(connectionString));
        builder.Services.AddOptions<AdoNetClusteringClientOptions>().Configure<NpgsqlDataSource>((o, ds) => o.DataSource = ds);
        builder.UseOrleansClient(client =>
        {
            client.UseAdoNetClustering(o => o.Invariant = "Npgsql");
            client.Configure<ClusterOptions>(o =>
            {
                o.ClusterId = builder.Configuration["Orleans:ClusterId"] ?? "builtiful-dev";
                o.ServiceId = "builtiful";
            });
            client.UseBuiltifulClusterTls(builder.Configuration);
            client.AddDashboard();
        });

        var app = builder.Build();
        app.MapBuiltifulGateway();
        return app;
    }
}
