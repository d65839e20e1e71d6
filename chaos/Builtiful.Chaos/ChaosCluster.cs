using System.Globalization;
using System.Security.Cryptography;
using Builtiful.Providers;
using Builtiful.Silo;
using Builtiful.Simulation;
using Builtiful.Testing;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;

namespace Builtiful.Chaos;

/// <summary>
/// The system under chaos: one all-in-one silo in memory (quick), or several silos on a real PostgreSQL (full).
/// Silo 0 hosts the simulated cloud, which every silo shares, so VMs outlive the silos that launched them as
/// real VMs do; silo 0 is never killed, the others are.
/// </summary>
public sealed class ChaosCluster : IAsyncDisposable
{
    private readonly List<(WebApplication App, HttpClient Http)> _silos = [];
    private readonly Dictionary<string, string> _settings;
    private readonly TextWriter _output;
    private PostgresServer? _postgres;
    private int _next;

    private ChaosCluster(Dictionary<string, string> settings, TextWriter output)
    {
        _settings = settings;
        _output = output;
    }

    public IGrainFactory Grains => _silos[0].App.Services.GetRequiredService<IGrainFactory>();

    public SimulatedComputeProvider Cloud => _silos[0].App.Services.GetRequiredService<SimulatedComputeProvider>();

    /// <summary>Each live silo's own grain factory: silos that disagree about a grain point at duplicate activations.</summary>
    public IReadOnlyList<IGrainFactory> EverySilo
    {
        get
        {
            lock (_silos)
            {
                return [.. _silos.Select(s => s.App.Services.GetRequiredService<IGrainFactory>())];
            }
        }
    }

    public SimulatedJobRuns Runs => new(_silos[0].App.Services.GetRequiredService<Simulation.GitHub.SimulatedGitHub>());

    public SimulatedFaultLedger Faults => _silos[0].App.Services.GetRequiredService<SimulatedFaultLedger>();

    public static async Task<ChaosCluster> StartAsync(ChaosSettings settings, Dictionary<string, string> hostSettings, TextWriter output, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(settings);
        var cluster = new ChaosCluster(hostSettings, output);
        if (settings.Silos > 1)
        {
            cluster._postgres = new PostgresServer();
            await cluster._postgres.InitializeAsync();
            var database = await cluster._postgres.CreateDatabaseAsync("chaos");
            await new Postgres.SchemaMigrator().MigrateAsync(database, cancellationToken);
            hostSettings["ConnectionStrings:Builtiful"] = database;
            hostSettings["Storage:EncryptionKeys:0:Id"] = "chaos";
            hostSettings["Storage:EncryptionKeys:0:Key"] = Convert.ToBase64String(RandomNumberGenerator.GetBytes(32));
            hostSettings["Orleans:Membership:ProbeTimeout"] = "00:00:01";
            hostSettings["Orleans:Membership:NumMissedProbesLimit"] = "2";
            hostSettings["Orleans:Membership:NumVotesForDeathDeclaration"] = "1";
            hostSettings["Orleans:Membership:TableRefreshTimeout"] = "00:00:01";
            hostSettings["Orleans:Membership:IAmAliveTablePublishTimeout"] = "00:00:02";
        }

        for (var i = 0; i < settings.Silos; i++)
        {
            await cluster.StartSiloAsync(cancellationToken);
        }

        return cluster;
    }

    /// <summary>A gateway to deliver to, round robin over the live silos, as a load balancer would.</summary>
    public HttpClient AnyGateway()
    {
        lock (_silos)
        {
            return _silos[(int)((uint)Interlocked.Increment(ref _next) % (uint)_silos.Count)].Http;
        }
    }

    /// <summary>Kills the last silo without a goodbye and starts a fresh one in its place.</summary>
    public async Task KillAndRestartSiloAsync(CancellationToken cancellationToken)
    {
        (WebApplication App, HttpClient Http) victim;
        lock (_silos)
        {
            victim = _silos[^1];
            _silos.RemoveAt(_silos.Count - 1);
        }

        Faults.Count("cluster.silo-killed");
        _output.WriteLine("chaos: killing a silo");
        using (var now = new CancellationTokenSource())
        {
            await now.CancelAsync();
            try
            {
                await victim.App.StopAsync(now.Token);
            }
            catch (OperationCanceledException)
            {
                // An abrupt stop, as intended.
            }
        }

        victim.Http.Dispose();
        await victim.App.DisposeAsync();
        await StartSiloAsync(cancellationToken);
        _output.WriteLine("chaos: a new silo joined");
    }

    public async Task RestartDatabaseAsync()
    {
        Faults.Count("cluster.postgres-restart");
        _output.WriteLine("chaos: restarting PostgreSQL");
        await _postgres!.RestartAsync();
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var (app, http) in _silos.AsEnumerable().Reverse())
        {
            http.Dispose();
            await app.StopAsync();
            await app.DisposeAsync();
        }

        if (_postgres is not null)
        {
            await _postgres.DisposeAsync();
        }
    }

    private async Task StartSiloAsync(CancellationToken cancellationToken)
    {
        var settings = new Dictionary<string, string>(_settings)
        {
            ["urls"] = "http://127.0.0.1:0",
            ["contentRoot"] = AppContext.BaseDirectory,
            ["Orleans:SiloPort"] = FreePort().ToString(CultureInfo.InvariantCulture),
            ["Orleans:GatewayPort"] = FreePort().ToString(CultureInfo.InvariantCulture),
        };
        var cloud = _silos.Count > 0 ? Cloud : null;
        var app = BuiltifulHost.Build([.. settings.Select(kv => $"--{kv.Key}={kv.Value}")], builder =>
        {
            if (cloud is not null)
            {
                builder.Services.AddSingleton(cloud);
                builder.Services.AddSingleton<IComputeProvider>(cloud);
            }
        });
        await app.StartAsync(cancellationToken);
        lock (_silos)
        {
            _silos.Add((app, new HttpClient { BaseAddress = new Uri(app.Urls.First()), Timeout = TimeSpan.FromSeconds(30) }));
        }
    }

    private static int FreePort()
    {
        using var listener = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        listener.Start();
        return ((System.Net.IPEndPoint)listener.LocalEndpoint).Port;
    }
}
