using System.Globalization;
using Builtiful.Simulation;
using Builtiful.Simulation.Cloud;
using Builtiful.Simulation.GitHub;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Builtiful.Chaos;

/// <summary>
/// Everything outside Builtiful, in the chaos driver's process so it outlives every silo: the simulated GitHub (its
/// REST API for the silos' App client, its deliveries to their gateways) and the simulated cloud (its API for the
/// silos' compute provider, its VMs running runners that talk to the simulated GitHub). The judge reads their records.
/// </summary>
public sealed class ChaosWorld : IAsyncDisposable
{
    private readonly ServiceProvider _services;
    private readonly HttpClient _deliveries;

    private ChaosWorld(ServiceProvider services, HttpClient deliveries, SimulatedGitHubServer gitHubServer, SimulatedCloudServer cloudServer)
    {
        _services = services;
        _deliveries = deliveries;
        GitHubServer = gitHubServer;
        CloudServer = cloudServer;
    }

    public SimulatedGitHub GitHub => _services.GetRequiredService<SimulatedGitHub>();

    public SimulatedComputeProvider Cloud => _services.GetRequiredService<SimulatedComputeProvider>();

    /// <summary>Faults the simulated cloud injected.</summary>
    public SimulatedFaultLedger CloudFaults => _services.GetRequiredService<SimulatedFaultLedger>();

    /// <summary>The cloud's "AWS" that signs its VMs' identity documents; the silos' gateways trust its certificate.</summary>
    public SimulatedInstanceIdentity Identity => _services.GetRequiredService<SimulatedInstanceIdentity>();

    public SimulatedGitHubServer GitHubServer { get; }

    public SimulatedCloudServer CloudServer { get; }

    public static async Task<ChaosWorld> StartAsync(ChaosSettings settings, string webhookSecret, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(settings);
        var seed = settings.Seed.ToString(CultureInfo.InvariantCulture);
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Simulation:BootDelay"] = "00:00:00.200",
            // A VM Builtiful forgets must count as leaked, not be saved by its own power-off.
            ["Simulation:InGuestWatchdog"] = "false",
            ["Simulation:Faults:LaunchCapacityErrorRate"] = "0.1",
            ["Simulation:Faults:LostLaunchResponseRate"] = "0.05",
            ["Simulation:Faults:TerminateErrorRate"] = "0.1",
            // Runners that never come online.
            ["Simulation:Faults:BootFailureRate"] = "0.03",
            ["Simulation:Faults:Seed"] = seed,
        }).Build();

        var deliveries = new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = 64 }) { Timeout = Timeout.InfiniteTimeSpan };
        var services = new ServiceCollection();
        services.AddLogging(logging => logging.AddFilter(_ => false));
        services.AddSingleton<IConfiguration>(configuration);
        services.AddKeyedSingleton(BuiltifulClock.Key, TimeProvider.System);
        services.AddSingleton(sp => new SimulatedGitHub(
            new SimulatedGitHubOptions
            {
                DefaultRunTime = TimeSpan.FromMilliseconds(300),
                // Organisation runners in the default group could take a public repository's job: only Builtiful's
                // registration scope keeps them from one its policy refuses.
                DefaultGroupAllowsPublicRepositories = true,
                DeliveryDropRate = settings.DropRate,
                DeliveryDuplicateRate = settings.DuplicateRate,
                DeliveryReorderRate = settings.ReorderRate,
                Seed = settings.Seed,
            },
            webhookSecret,
            deliveries,
            TimeProvider.System));
        services.AddSimulatedCompute(configuration);
        var provider = services.BuildServiceProvider();
        var gitHubServer = await SimulatedGitHubServer.StartAsync(provider.GetRequiredService<SimulatedGitHub>(), cancellationToken);
        var cloudServer = await SimulatedCloudServer.StartAsync(provider.GetRequiredService<SimulatedComputeProvider>(), cancellationToken);
        return new ChaosWorld(provider, deliveries, gitHubServer, cloudServer);
    }

    public async ValueTask DisposeAsync()
    {
        await CloudServer.DisposeAsync();
        await GitHubServer.DisposeAsync();
        await _services.DisposeAsync();
        _deliveries.Dispose();
    }
}
