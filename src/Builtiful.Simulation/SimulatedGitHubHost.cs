using System.Globalization;
using Builtiful.Simulation.GitHub;
using Microsoft.Extensions.Logging;

namespace Builtiful.Simulation;

/// <summary>
/// The simulated GitHub a Builtiful host talks to, and where its REST API listens. Either started (and later disposed)
/// by the host itself, the embedded default, or shared: several in-process silos (a chaos run, a test) talk to one
/// world that outlives any of them, and whoever made it disposes it.
/// </summary>
public sealed class SimulatedGitHubHost : IAsyncDisposable
{
    private readonly SimulatedGitHubServer? _server;
    private readonly HttpClient? _deliveries;

    private SimulatedGitHubHost(SimulatedGitHub world, Uri apiUrl, SimulatedGitHubServer? server, HttpClient? deliveries)
    {
        World = world;
        ApiUrl = apiUrl;
        _server = server;
        _deliveries = deliveries;
    }

    public SimulatedGitHub World { get; }

    /// <summary>The REST API root Builtiful's App client is given as <c>GitHub:ApiUrl</c>.</summary>
    public Uri ApiUrl { get; }

    /// <summary>The world's "GitHub UI" for people and demos.</summary>
    public Uri UiUrl => new(ApiUrl, "/simulation/");

    /// <summary>True when this host started the world and its server, and so disposes them.</summary>
    public bool Owned => _server is not null;

    /// <summary>
    /// The GitHub App settings that point Builtiful's real App client at this world; the private key is for in-memory
    /// configuration only, never printed.
    /// </summary>
    public IReadOnlyDictionary<string, string?> AppSettings => new Dictionary<string, string?>
    {
        ["GitHub:ApiUrl"] = ApiUrl.ToString(),
        ["GitHub:AppId"] = World.AppId.ToString(CultureInfo.InvariantCulture),
        ["GitHub:PrivateKey"] = World.AppPrivateKeyPem,
    };

    /// <summary>A new world, its REST API started on a free loopback port.</summary>
    public static async Task<SimulatedGitHubHost> StartAsync(SimulatedGitHubOptions options, string webhookSecret, TimeProvider time, ILogger? logger, CancellationToken cancellationToken)
    {
        // GitHub's own 10 s limit is applied per delivery by the world; the client must not cut it shorter.
        var deliveries = new HttpClient { Timeout = Timeout.InfiniteTimeSpan };
        SimulatedGitHub? world = null;
        try
        {
            world = new SimulatedGitHub(options, webhookSecret, deliveries, time, logger);
            var server = await SimulatedGitHubServer.StartAsync(world, cancellationToken);
            return new SimulatedGitHubHost(world, server.ApiUrl, server, deliveries);
        }
        catch
        {
            world?.Dispose();
            deliveries.Dispose();
            throw;
        }
    }

    /// <summary>A world someone else started and disposes.</summary>
    public static SimulatedGitHubHost Shared(SimulatedGitHub world, Uri apiUrl)
    {
        ArgumentNullException.ThrowIfNull(world);
        ArgumentNullException.ThrowIfNull(apiUrl);
        return new SimulatedGitHubHost(world, apiUrl, server: null, deliveries: null);
    }

    public async ValueTask DisposeAsync()
    {
        if (_server is null)
        {
            return;
        }

        await _server.DisposeAsync();
        World.Dispose();
        _deliveries?.Dispose();
    }
}
