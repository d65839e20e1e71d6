using Builtiful.Machines;

namespace Builtiful.Silo;

/// <summary>The production silo: grains on EC2, a GitHub App and PostgreSQL; liveness and readiness on HTTP, no webhook endpoint.</summary>
public static class ProductionSilo
{
    /// <summary>The liveness path, as the gateway serves it.</summary>
    public const string HealthPath = "/healthz";

    /// <summary>Ready while started and not stopping, and the database answers (Kubernetes' readiness probe).</summary>
    public const string ReadyPath = "/readyz";

    public static WebApplication Build(string[] args)
    {
        var builder = WebApplication.CreateBuilder(args);
        builder.Services.AddProductionProviders(builder.Configuration);
        builder.AddBuiltifulSilo();
        var app = builder.Build();
        _ = app.Services.GetRequiredService<MachineCatalogue>(); // a broken catalogue fails start-up, not the first job
        app.MapGet(HealthPath, () => TypedResults.Ok(new { status = "ok" }));
        app.MapGet(ReadyPath, async Task<IResult> (IHostApplicationLifetime lifetime, Npgsql.NpgsqlDataSource database, CancellationToken cancellationToken) =>
        {
            if (!lifetime.ApplicationStarted.IsCancellationRequested || lifetime.ApplicationStopping.IsCancellationRequested)
            {
                return TypedResults.Problem("the silo is starting or stopping", statusCode: StatusCodes.Status503ServiceUnavailable);
            }

            try
            {
                await using var command = database.CreateCommand("SELECT 1");
                await command.ExecuteScalarAsync(cancellationToken);
                return TypedResults.Ok(new { status = "ready" });
            }
            catch (Npgsql.NpgsqlException)
            {
                return TypedResults.Problem("the database does not answer", statusCode: StatusCodes.Status503ServiceUnavailable);
            }
        });
        return app;
    }
}
