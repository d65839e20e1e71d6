using Builtiful.Gateway;
using Builtiful.Gateway.Webhooks;
using Builtiful.Machines;
using Builtiful.Simulation;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;

namespace Builtiful.Silo;

/// <summary>Builds the all-in-one: silo, webhook gateway, admin API and dashboard in one process.</summary>
public static class BuiltifulHost
{
    public static WebApplication Build(string[] args, Action<WebApplicationBuilder>? configure = null)
    {
        var builder = WebApplication.CreateBuilder(args);
        var generated = builder.AddBuiltifulGateway();
        builder.AddBuiltifulSilo();
        configure?.Invoke(builder); // last, so tests and embedders can replace any service

        var app = builder.Build();
        _ = app.Services.GetRequiredService<MachineCatalogue>(); // a broken catalogue fails start-up, not the first job
        app.MapBuiltifulGateway();
        app.Lifetime.ApplicationStarted.Register(() => OnStarted(app, generated));
        return app;
    }

    private static void OnStarted(WebApplication app, GeneratedSecrets generated)
    {
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()?.Addresses.FirstOrDefault();
        if (address is not null)
        {
            var local = new UriBuilder(address.Replace("://+", "://127.0.0.1", StringComparison.Ordinal).Replace("://*", "://127.0.0.1", StringComparison.Ordinal)
                .Replace("://0.0.0.0", "://127.0.0.1", StringComparison.Ordinal).Replace("://[::]", "://127.0.0.1", StringComparison.Ordinal)) { Path = WebhookEndpoint.Path };
            if (app.Services.GetService<SimulatedWebhookSender>() is { } sender)
            {
                sender.DiscoveredWebhookUrl = local.Uri;
            }
        }

        if (generated.Any)
        {
            // Printed, not logged: these exist only in this process and vanish with it.
            Console.WriteLine();
            Console.WriteLine("Builtiful is running with development secrets generated for this process:");
            if (generated.WebhookSecret is not null)
            {
                Console.WriteLine($"  GitHub__WebhookSecret={generated.WebhookSecret}");
            }

            if (generated.AdminToken is not null)
            {
                Console.WriteLine($"  Admin__Token={generated.AdminToken}");
            }

            Console.WriteLine("Set them in the environment (or configuration) to choose your own.");
            Console.WriteLine();
        }
    }
}
