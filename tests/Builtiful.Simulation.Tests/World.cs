using Builtiful.Simulation.GitHub;
using Microsoft.Extensions.Time.Testing;

namespace Builtiful.Simulation.Tests;

/// <summary>A simulated GitHub on a fake clock, sending to a recording gateway, with two organisations and a user.</summary>
internal sealed class World : IAsyncDisposable
{
    public const long Acme = 42;
    public const long Octocat = 77;
    public const long Other = 99;
    public const string Secret = "world-test-secret";

    private World(SimulatedGitHub gitHub, FakeTimeProvider clock, Gateway gateway, HttpClient http)
    {
        GitHub = gitHub;
        Clock = clock;
        Gateway = gateway;
        Http = http;
    }

    public SimulatedGitHub GitHub { get; }

    public FakeTimeProvider Clock { get; }

    public Gateway Gateway { get; }

    private HttpClient Http { get; }

    public static async Task<World> StartAsync(Action<SimulatedGitHubOptions>? configure = null)
    {
        var options = new SimulatedGitHubOptions { Seed = 7 };
        configure?.Invoke(options);
        var clock = new FakeTimeProvider(new DateTimeOffset(2026, 3, 2, 9, 0, 0, TimeSpan.Zero));
        var http = new HttpClient();
        var gitHub = new SimulatedGitHub(options, Secret, http, clock);
        var gateway = await Gateway.StartAsync();
        gitHub.SetWebhookTargets([gateway.Url]);
        await gitHub.InstallAsync(Acme, "acme", AccountKind.Organization);
        gitHub.AddRepository(Acme, "acme/widgets", isPublic: false);
        gitHub.AddRepository(Acme, "acme/gadgets", isPublic: false);
        gitHub.AddRepository(Acme, "acme/site", isPublic: true);
        await gitHub.InstallAsync(Octocat, "octocat", AccountKind.User);
        gitHub.AddRepository(Octocat, "octocat/hello", isPublic: false);
        await gitHub.InstallAsync(Other, "other", AccountKind.Organization);
        gitHub.AddRepository(Other, "other/app", isPublic: false);
        await gitHub.WhenDeliveredAsync();
        return new World(gitHub, clock, gateway, http);
    }

    public Task<long> QueueAsync(string repository, params string[] labels) =>
        GitHub.QueueJobAsync(new JobSpec { Repository = repository, Labels = labels });

    /// <summary>Registers a just-in-time runner and brings it online.</summary>
    public RunnerSession Online(string name, long installation = Acme, string? repository = null, long group = 1, params string[] labels)
    {
        var registration = GitHub.GenerateJitConfig(installation, repository, group, name, labels.Length == 0 ? ["self-hosted", "linux"] : labels);
        return GitHub.Connect(registration.EncodedJitConfig) ?? throw new InvalidOperationException("The world refused its own config.");
    }

    public JobRecord Job(long id) => GitHub.Jobs.Single(j => j.Id == id);

    /// <summary>The actions the gateway received for one job, in arrival order.</summary>
    public IReadOnlyList<string?> ActionsReceived(long jobId) =>
        [.. Gateway.Received.Where(d => d.Event == "workflow_job" && d.JobId == jobId).Select(d => d.Action)];

    public async ValueTask DisposeAsync()
    {
        GitHub.Dispose();
        await Gateway.DisposeAsync();
        Http.Dispose();
    }
}
