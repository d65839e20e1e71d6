using Builtiful.Gateway;
using Builtiful.Gateway.Webhooks;
using Builtiful.Hosting;
using Builtiful.Leases;
using Builtiful.Machines;
using Builtiful.Silo;
using Builtiful.Simulation;
using Builtiful.Simulation.GitHub;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.Options;

namespace Builtiful.Embedded;

/// <summary>
/// Builds the embedded all-in-one: silo, webhook gateway, admin API and dashboard in one process, with a simulated cloud
/// and GitHub world by default and state in memory unless <c>ConnectionStrings:Builtiful</c> names a database.
/// </summary>
public static class EmbeddedHost
{
    public static WebApplication Build(string[] args, Action<WebApplicationBuilder>? configure = null)
    {
        // The content root is the program's directory, where the silo's appsettings.json (the machine catalogue) lands.
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions { Args = args, ContentRootPath = AppContext.BaseDirectory });
        builder.Configuration.AddEmbeddedDefaults();
        var generated = SharedOrGeneratedSecrets(builder.Configuration);
        builder.AddBuiltifulGateway();
        builder.AddBuiltifulManagement(defaultPort: null);
        var simulated = EmbeddedProviders.UsesSimulatedGitHub(builder.Configuration);
        if (simulated && string.IsNullOrEmpty(builder.Configuration["GitHub:Redelivery:Period"]))
        {
            // The embedded world drops deliveries only when asked to; a demo should not wait GitHub's five minutes.
            builder.Configuration["GitHub:Redelivery:Period"] = "00:00:30";
        }

        if (EmbeddedProviders.OwnsSimulatedCloud(builder.Configuration))
        {
            // This process's cloud signs its VMs' identity documents; its gateway trusts that "AWS" for their claims.
            var identity = new Simulation.Cloud.SimulatedInstanceIdentity();
            builder.Services.AddSingleton(_ => identity);
            if (string.IsNullOrEmpty(builder.Configuration[identity.GatewaySetting.Key]))
            {
                builder.Configuration[identity.GatewaySetting.Key] = identity.CertificatePem;
            }
        }

        builder.Services.AddEmbeddedProviders(builder.Configuration);
        builder.AddBuiltifulSilo();
        if (string.IsNullOrEmpty(builder.Configuration[RequiredSecrets.ClaimUrlKey]))
        {
            // VMs claim their runner configs at this host's own gateway, whose address is known only once it listens:
            // read at each launch, since leases (their reminders) can wake before the listener is bound.
            builder.Services.AddSingleton<IClaimAddress>(sp => new OwnGatewayClaimAddress(sp.GetRequiredService<IServer>(), sp.GetRequiredService<IHostApplicationLifetime>()));
        }

        configure?.Invoke(builder); // last, so tests and embedders can replace any service or hand in a shared world

        var github = simulated ? StartOwnWorld(builder) : null;
        var app = builder.Build();
        _ = app.Services.GetRequiredService<MachineCatalogue>(); // a broken catalogue fails start-up, not the first job
        app.MapBuiltifulGateway();
        app.MapBuiltifulManagement();
        if (github is not null)
        {
            // Resolved once, so the container owns it and disposes the world's server with the host.
            _ = app.Services.GetRequiredService<SimulatedGitHubHost>();
        }

        app.Lifetime.ApplicationStarted.Register(() => OnStarted(app, generated, github));
        return app;
    }

    /// <summary>
    /// Hands this host a world someone else started and disposes (several in-process silos share one, as they share
    /// GitHub): its REST API becomes the App client's GitHub. Call it from <see cref="Build"/>'s configure callback.
    /// </summary>
    public static WebApplicationBuilder UseSimulatedGitHub(this WebApplicationBuilder builder, SimulatedGitHub world, Uri apiUrl)
    {
        ArgumentNullException.ThrowIfNull(builder);
        var shared = SimulatedGitHubHost.Shared(world, apiUrl);
        builder.Services.AddSingleton(shared);
        builder.Services.AddSingleton(world);
        builder.Configuration.AddInMemoryCollection(shared.AppSettings);
        return builder;
    }

    /// <summary>
    /// On PostgreSQL the secrets must be configured, as on the production hosts (several embedded silos may share the
    /// database); without one, the missing ones are made for this process, whose state dies with it.
    /// </summary>
    private static GeneratedSecrets SharedOrGeneratedSecrets(ConfigurationManager configuration)
    {
        if (RequiredSecrets.Problems(configuration).Concat(RequiredSecrets.SiloProblems(configuration)).ToList() is { Count: > 0 } problems)
        {
            throw new OptionsValidationException(PostgresDatabase.ConnectionStringKey, typeof(RequiredSecrets), problems);
        }

        // Claim tokens die with the process's leases, so a key of its own is safe; it is never shown.
        RequiredSecrets.GenerateClaimKey(configuration);
        return GatewayExtensions.GenerateDevelopmentSecrets(configuration);
    }

    /// <summary>The embedded default: a world of its own on a free loopback port, unless configure handed one in.</summary>
    private static SimulatedGitHubHost? StartOwnWorld(WebApplicationBuilder builder)
    {
        if (builder.Services.Any(d => d.ServiceType == typeof(SimulatedGitHubHost)))
        {
            return null;
        }

        var options = builder.Configuration.GetSection(SimulatedGitHubOptions.Section).Get<SimulatedGitHubOptions>() ?? new SimulatedGitHubOptions();
        var secret = builder.Configuration["GitHub:WebhookSecret"]
            ?? throw new InvalidOperationException("GitHub:WebhookSecret is not set; the simulated GitHub cannot sign its deliveries.");
        var clock = builder.Services.LastOrDefault(d => d.IsKeyedService && d.ServiceType == typeof(TimeProvider) && Equals(d.ServiceKey, BuiltifulClock.Key))
            ?.KeyedImplementationInstance as TimeProvider ?? TimeProvider.System;

        // Started before the container exists: the App client's options are bound from these settings. Run off any
        // synchronisation context, so a caller's (a test runner's) cannot deadlock the blocking wait.
        var github = Task.Run(() => SimulatedGitHubHost.StartAsync(options, secret, clock, logger: null, CancellationToken.None)).GetAwaiter().GetResult();
        builder.Services.AddSingleton(_ => github);
        builder.Services.AddSingleton(github.World);
        builder.Configuration.AddInMemoryCollection(github.AppSettings);
        return github;
    }

    private static void OnStarted(WebApplication app, GeneratedSecrets generated, SimulatedGitHubHost? github)
    {
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()?.Addresses.FirstOrDefault();
        if (github is not null)
        {
            // A world this host started delivers to this host; a shared world's owner decides where its deliveries go.
            var configured = app.Services.GetRequiredService<Microsoft.Extensions.Options.IOptions<SimulationOptions>>().Value.WebhookUrl;
            var target = configured ?? (address is null ? null : LocalWebhookUrl(address));
            if (target is not null)
            {
                github.World.SetWebhookTargets([target]);
            }

            // Printed once, not logged: where a person finds the simulated GitHub.
            Console.WriteLine();
            Console.WriteLine("Simulated GitHub (the embedded default) is running:");
            Console.WriteLine($"  REST API (GitHub:ApiUrl)  {github.ApiUrl}");
            Console.WriteLine($"  UI                        {github.UiUrl}");
            Console.WriteLine($"  deliveries go to          {target?.ToString() ?? "(nowhere yet)"}");
            Console.WriteLine();
        }

        if (generated.Any)
        {
            // Said once on the console, never logged. Only the admin token is shown, since a person needs it to sign in;
            // it lives in this process's memory and, with no database, nothing it guards outlives the process.
            Console.WriteLine();
            Console.WriteLine("Builtiful generated secrets for this process only (no database, so nothing they guard outlives it):");
            if (generated.AdminToken is not null)
            {
                Console.WriteLine($"  admin API and dashboard: Admin__Token={generated.AdminToken}");
            }

            if (generated.WebhookSecret is not null)
            {
                Console.WriteLine("  webhook secret: generated for the simulated GitHub, not shown; set GitHub__WebhookSecret to receive a real App's deliveries.");
            }

            Console.WriteLine("Set Admin__Token (or Admin__Tokens) and GitHub__WebhookSecret to choose your own.");
            Console.WriteLine();
        }
    }

    /// <summary>The embedded host's own claim endpoint, from the address its listener bound (a port of 0 is known only then).</summary>
    private sealed class OwnGatewayClaimAddress(IServer server, IHostApplicationLifetime lifetime) : IClaimAddress
    {
        public Uri? Current => server.Features.Get<IServerAddressesFeature>()?.Addresses.FirstOrDefault() is { } address
            && LocalUrl(address, Gateway.Claims.ClaimEndpoint.Path) is { Port: > 0 } url
                ? url
                : null;

        /// <summary>The silo joins its cluster before the server listens: a lease woken meanwhile waits for the listener.</summary>
        public async Task<Uri?> WhenKnownAsync(CancellationToken cancellationToken)
        {
            if (Current is { } known)
            {
                return known;
            }

            var started = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            using (lifetime.ApplicationStarted.Register(() => started.TrySetResult()))
            {
                await started.Task.WaitAsync(cancellationToken);
            }

            return Current;
        }
    }

    private static Uri LocalWebhookUrl(string address) => LocalUrl(address, WebhookEndpoint.Path);

    private static Uri LocalUrl(string address, string path) =>
        new UriBuilder(address.Replace("://+", "://127.0.0.1", StringComparison.Ordinal).Replace("://*", "://127.0.0.1", StringComparison.Ordinal)
            .Replace("://0.0.0.0", "://127.0.0.1", StringComparison.Ordinal).Replace("://[::]", "://127.0.0.1", StringComparison.Ordinal)) { Path = path }.Uri;
}
