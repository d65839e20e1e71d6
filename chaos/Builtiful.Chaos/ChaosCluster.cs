using System.Globalization;
using System.Security.Cryptography;
using Builtiful.Testing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Npgsql;
using Orleans.Configuration;

namespace Builtiful.Chaos;

/// <summary>
/// The system under chaos in its production shape: silo processes on one PostgreSQL the run starts, reached over real
/// HTTP by the simulated GitHub and over the simulated cloud's API by their compute provider. Silos are killed with
/// SIGKILL and replaced; the database can be restarted under them. A cluster client reads billing and explanations.
/// </summary>
public sealed class ChaosCluster : IAsyncDisposable
{
    private const string AdminToken = "chaos-admin-token";

    private readonly List<SiloProcess> _silos = [];
    private readonly ChaosWorld _world;
    private readonly TextWriter _output;
    private readonly Dictionary<string, string> _settings;
    private readonly Dictionary<string, string> _environment;
    private readonly string _logFolder;
    private PostgresServer? _postgres;
    private IHost? _client;
    private int _started;

    private ChaosCluster(ChaosWorld world, TextWriter output, Dictionary<string, string> settings, Dictionary<string, string> environment, string logFolder)
    {
        _world = world;
        _output = output;
        _settings = settings;
        _environment = environment;
        _logFolder = logFolder;
    }

    /// <summary>Builtiful's own record, for billing and for explaining a problem; never for deciding whether it was right.</summary>
    public IGrainFactory Grains => _client!.Services.GetRequiredService<IClusterClient>();

    public int SiloKills { get; private set; }

    public string LogFolder => _logFolder;

    public static async Task<ChaosCluster> StartAsync(ChaosSettings settings, ChaosWorld world, string webhookSecret, TextWriter output, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(settings);
        ArgumentNullException.ThrowIfNull(world);
        var logFolder = Directory.CreateTempSubdirectory("builtiful-chaos-").FullName;
        var postgres = new PostgresServer();
        await postgres.InitializeAsync();
        var database = await postgres.CreateDatabaseAsync("chaos");
        await new Postgres.SchemaMigrator().MigrateAsync(database, cancellationToken);
        var clusterId = "chaos-" + settings.Seed.ToString(CultureInfo.InvariantCulture);
        var siloSettings = new Dictionary<string, string>
        {
            ["Orleans:ClusterId"] = clusterId,
            ["Orleans:Membership:ProbeTimeout"] = "00:00:01",
            ["Orleans:Membership:NumMissedProbesLimit"] = "2",
            ["Orleans:Membership:NumVotesForDeathDeclaration"] = "1",
            ["Orleans:Membership:TableRefreshTimeout"] = "00:00:01",
            ["Orleans:Membership:IAmAliveTablePublishTimeout"] = "00:00:02",
            ["Logging:LogLevel:Default"] = "Warning",
            // Wall-clock times in the silo logs, to set beside the cloud's and GitHub's records when a run finds a problem.
            ["Logging:Console:FormatterOptions:TimestampFormat"] = "HH:mm:ss.fff ",
            ["Logging:LogLevel:Orleans"] = Environment.GetEnvironmentVariable("CHAOS_ORLEANS_LOG") ?? "Error",
            ["GitHub:Mode"] = "App",
            ["GitHub:ApiUrl"] = world.GitHubServer.ApiUrl.ToString(),
            ["GitHub:AppId"] = world.GitHub.AppId.ToString(CultureInfo.InvariantCulture),
            ["GitHub:Redelivery:Period"] = "00:00:03",
            ["GitHub:RedeliveryWindow"] = "00:30:00",
            // Recovery passes come every 3 s instead of every 5 minutes: a delivery keeps as many chances to outlast a
            // silo's death or a database restart as in production (5 attempts span 25 minutes there).
            ["GitHub:MaxDeliveryAttempts"] = "30",
            ["Compute:Provider"] = "Simulated",
            ["Simulation:CloudUrl"] = world.CloudServer.Url.ToString(),
            ["Leases:BootDeadline"] = "00:00:05",
            ["Leases:MaxLifetime"] = "00:02:00",
            ["Leases:CheckPeriod"] = "00:00:01",
            ["Leases:TerminationPollInterval"] = "00:00:01",
            ["Leases:LaunchRetryDelay"] = "00:00:00.200",
            ["Reconciler:Period"] = ChaosRun.ReconcilerPeriod.ToString("c", CultureInfo.InvariantCulture),
            ["Organisations:MaxConcurrentVms"] = "10",
            // One warm pool of the commonest machine type, with a short idle life so some of its VMs expire unused. Its hand-out
            // margin (a quarter: 8 s) plus one reconciler period must outlast the time a killed silo leaves the pool without a
            // reachable activation: when the killed silo held the pool's directory entry, the surviving activation is cut off
            // until a new one forms, up to about 20 s on a loaded 2-core machine (runs with 16 s, margin 4 s, leaked 1-2 first-fill
            // VMs in about one run in six under load). In production that is 2 min of margin against tens of seconds.
            [$"Pools:{ChaosRun.Pool}:MachineType"] = ChaosRun.MachineTypes[0],
            [$"Pools:{ChaosRun.Pool}:MinIdle"] = "2",
            [$"Pools:{ChaosRun.Pool}:MaxIdle"] = "4",
            [$"Pools:{ChaosRun.Pool}:IdleLifetime"] = "00:00:32",
            ["Organisations:ProvisionAttempts"] = "5",
            // VMs claim their runner configs at the gateway of the silo that launched them, proving who they are with
            // documents the simulated cloud signs; a VM whose silo is killed cannot claim, and its lease's boot deadline ends it.
            [world.Identity.GatewaySetting.Key] = world.Identity.CertificatePem,
        };
        var environment = new Dictionary<string, string>
        {
            ["ConnectionStrings__Builtiful"] = database,
            ["Storage__EncryptionKeys__0__Id"] = "chaos",
            ["Storage__EncryptionKeys__0__Key"] = Convert.ToBase64String(RandomNumberGenerator.GetBytes(32)),
            ["GitHub__WebhookSecret"] = webhookSecret,
            ["Claims__Key"] = Convert.ToBase64String(RandomNumberGenerator.GetBytes(32)),
            ["GitHub__PrivateKey"] = world.GitHub.AppPrivateKeyPem,
            ["Admin__Token"] = AdminToken,

            // Silo processes on loopback; the chaos client below speaks plain TCP.
            ["Orleans__Tls__Disabled"] = "true",
            ["DOTNET_gcServer"] = "0",
        };
        var cluster = new ChaosCluster(world, output, siloSettings, environment, logFolder) { _postgres = postgres };
        await Task.WhenAll(Enumerable.Range(0, settings.Silos).Select(_ => cluster.StartSiloAsync(cancellationToken)));
        cluster._client = await StartClientAsync(database, clusterId, cancellationToken);
        output.WriteLine($"chaos: {settings.Silos} silo processes on PostgreSQL; logs in {logFolder}");
        return cluster;
    }

    /// <summary>SIGKILLs the newest silo process and starts a new one in its place, as an orchestrator would.</summary>
    public async Task KillAndRestartSiloAsync(CancellationToken cancellationToken)
    {
        SiloProcess victim;
        lock (_silos)
        {
            victim = _silos[^1];
            _silos.RemoveAt(_silos.Count - 1);
        }

        // The load balancer sends deliveries on to the dead silo until it notices; those fail, as GitHub records them.
        victim.Kill();
        SiloKills++;
        _output.WriteLine($"chaos: SIGKILLed the silo at {victim.BaseAddress}");
        await Task.Delay(TimeSpan.FromSeconds(1), cancellationToken);
        RouteDeliveries();
        await StartSiloAsync(cancellationToken);
        RouteDeliveries();
        _output.WriteLine("chaos: a new silo process joined");
        await victim.DisposeAsync();
    }

    public async Task RestartDatabaseAsync()
    {
        _output.WriteLine("chaos: restarting PostgreSQL");
        await _postgres!.RestartAsync();
    }

    /// <summary>The last lines of every silo's output, for a failed run's report.</summary>
    public IEnumerable<string> Tails(int lines)
    {
        lock (_silos)
        {
            return [.. _silos.Select(s => $"--- {s.LogPath}{Environment.NewLine}{s.Tail(lines)}")];
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (_client is not null)
        {
            try
            {
                await _client.StopAsync(TimeSpan.FromSeconds(5));
            }
            catch (Exception ex) when (ex is OperationCanceledException or OrleansException)
            {
                // The cluster goes down with the run.
            }

            _client.Dispose();
        }

        foreach (var silo in _silos)
        {
            await silo.DisposeAsync();
        }

        if (_postgres is not null)
        {
            await _postgres.DisposeAsync();
        }
    }

    private async Task StartSiloAsync(CancellationToken cancellationToken)
    {
        var name = "silo-" + Interlocked.Increment(ref _started).ToString(CultureInfo.InvariantCulture);
        var silo = await SiloProcess.StartAsync(name, _settings, _environment, _logFolder, cancellationToken);
        lock (_silos)
        {
            _silos.Add(silo);
        }
    }

    /// <summary>Points GitHub's deliveries at the live silos; until the first call they go nowhere and fail.</summary>
    public void RouteDeliveries()
    {
        lock (_silos)
        {
            _world.GitHub.SetWebhookTargets([.. _silos.Select(s => s.WebhookUrl)]);
        }
    }

    private static async Task<IHost> StartClientAsync(string database, string clusterId, CancellationToken cancellationToken)
    {
        var builder = Host.CreateApplicationBuilder();
        builder.Logging.ClearProviders();
        builder.Services.AddSingleton(_ => NpgsqlDataSource.Create(database));
        builder.Services.AddOptions<AdoNetClusteringClientOptions>().Configure<NpgsqlDataSource>((o, ds) => o.DataSource = ds);
        builder.UseOrleansClient(client =>
        {
            client.UseAdoNetClustering(o => o.Invariant = "Npgsql");
            client.Configure<ClusterOptions>(o =>
            {
                o.ClusterId = clusterId;
                o.ServiceId = "builtiful";
            });
        });
        var host = builder.Build();
        await host.StartAsync(cancellationToken);
        return host;
    }
}
