using Builtiful.Machines;

namespace Builtiful.Silo;

/// <summary>The production silo: grains on EC2, a GitHub App and PostgreSQL; liveness on HTTP, no webhook endpoint.</summary>
public static class ProductionSilo
{
    /// <summary>The liveness path, as the gateway serves it.</summary>
    public const string HealthPath = "/healthz";

    public static WebApplication Build(string[] args)
    {
        var builder = WebApplication.CreateBuilder(args);
        builder.Services.AddProductionProviders(builder.Configuration);
        builder.AddBuiltifulSilo();
        var app = builder.Build();
        _ = app.Services.GetRequiredService<MachineCatalogue>(); // a broken catalogue fails start-up, not the first job
        app.MapGet(HealthPath, () => TypedResults.Ok(new { status = "ok" }));
        return app;
    }
}
