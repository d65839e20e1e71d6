using Builtiful.Hosting;
using Builtiful.Machines;

namespace Builtiful.Silo;

/// <summary>
/// The production silo: grains on EC2, a GitHub App and PostgreSQL. It serves no public HTTP: liveness, readiness and
/// Prometheus metrics are on the management port (<c>Management:Port</c>, 9464 by default).
/// </summary>
public static class ProductionSilo
{
    public static IHost Build(string[] args)
    {
        var builder = Host.CreateApplicationBuilder(args);
        builder.Services.AddProductionProviders(builder.Configuration);
        builder.AddBuiltifulSilo();
        builder.AddBuiltifulManagement(ManagementOptions.ProductionPort);
        var host = builder.Build();
        _ = host.Services.GetRequiredService<MachineCatalogue>(); // a broken catalogue fails start-up, not the first job
        return host;
    }
}
