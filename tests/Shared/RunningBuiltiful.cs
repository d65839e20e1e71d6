using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Builtiful.GitHub;
using Builtiful.Embedded;
using Builtiful.Simulation;
using Builtiful.Simulation.GitHub;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;

namespace Builtiful.Testing;

/// <summary>
/// One Builtiful all-in-one host, started the way the README starts it, on free loopback ports, spoken to over real HTTP.
/// </summary>
public sealed class BuiltifulInstance : IAsyncDisposable
{
    public const string WebhookSecret = "test-webhook-secret-6f1c";
    public const string AdminToken = "test-admin-token-93ab";

    private BuiltifulInstance(WebApplication app)
    {
        App = app;
        BaseAddress = new Uri(app.Urls.First());
        Http = new HttpClient { BaseAddress = BaseAddress, Timeout = TimeSpan.FromSeconds(30) };
    }

    public WebApplication App { get; }

    public HttpClient Http { get; }

    public Uri BaseAddress { get; }

    /// <summary>The simulated GitHub this host talks to (its own, or the one handed in): GitHub's record, the judge's view.</summary>
    public SimulatedGitHub World => App.Services.GetRequiredService<SimulatedGitHub>();

    /// <summary>The simulated cloud's own record of VMs.</summary>
    public SimulatedComputeProvider Cloud => App.Services.GetRequiredService<SimulatedComputeProvider>();

    /// <summary>
    /// Installs the App on a new organisation in the world (GitHub sends <c>installation.created</c>) with one private
    /// repository, as a person would on github.com. Returns the installation id and the repository's full name.
    /// </summary>
    public async Task<(long InstallationId, string Repository)> InstallOrganisationAsync(string? login = null, bool publicRepository = false)
    {
        var installationId = Random.Shared.NextInt64(1_000_000, long.MaxValue);
        login ??= "org-" + Guid.NewGuid().ToString("N")[..8];
        await World.InstallAsync(installationId, login, AccountKind.Organization);
        var repository = login + "/app";
        World.AddRepository(installationId, repository, publicRepository);
        return (installationId, repository);
    }

    /// <summary>
    /// Makes the world know an installation (same id, login and account type) and the repositories a test's hand-made
    /// deliveries name, so Builtiful's App client can mint their runners' configs; GitHub sends its own
    /// <c>installation.created</c> too. Repository names are unique across the world's installations.
    /// </summary>
    public async Task KnowInWorldAsync(long installationId, string login, AccountKind kind, params (string FullName, bool IsPublic)[] repositories)
    {
        await World.InstallAsync(installationId, login, kind);
        foreach (var (fullName, isPublic) in repositories)
        {
            World.AddRepository(installationId, fullName, isPublic);
        }
    }

    /// <summary>Waits until the world records the job completed.</summary>
    public Task<JobRecord> JobCompletes(long jobId, TimeSpan? timeout = null) =>
        Eventually.Until(() => Task.FromResult(World.Jobs.FirstOrDefault(j => j.Id == jobId)!), j => j is { Status: SimulatedJobStatus.Completed },
            $"the world records job {jobId} completed", timeout ?? TimeSpan.FromSeconds(60));

    public static async Task<BuiltifulInstance> StartAsync(IReadOnlyDictionary<string, string>? overrides = null, Action<WebApplicationBuilder>? configure = null)
    {
        var settings = new Dictionary<string, string>
        {
            ["urls"] = "http://127.0.0.1:0",
            ["contentRoot"] = AppContext.BaseDirectory,
            ["Orleans:SiloPort"] = FreePort().ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["Orleans:GatewayPort"] = FreePort().ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["Orleans:ClusterId"] = "test-" + Guid.NewGuid().ToString("N"),
            ["GitHub:WebhookSecret"] = WebhookSecret,
            ["Admin:Token"] = AdminToken,
            ["Logging:LogLevel:Default"] = "Warning",
        };
        foreach (var (key, value) in overrides ?? new Dictionary<string, string>())
        {
            settings[key] = value;
        }

        // A port found free can be taken by another test process before the silo binds it: pick new ones and start again.
        var ownPorts = overrides is null || !(overrides.ContainsKey("Orleans:SiloPort") || overrides.ContainsKey("Orleans:GatewayPort"));
        for (var attempt = 1; ; attempt++)
        {
            var app = EmbeddedHost.Build([.. settings.Select(kv => $"--{kv.Key}={kv.Value}")], configure);
            try
            {
                await app.StartAsync();
                return new BuiltifulInstance(app);
            }
            catch (Exception e) when (ownPorts && attempt < 3 && IsAddressInUse(e))
            {
                await app.DisposeAsync();
                settings["Orleans:SiloPort"] = FreePort().ToString(System.Globalization.CultureInfo.InvariantCulture);
                settings["Orleans:GatewayPort"] = FreePort().ToString(System.Globalization.CultureInfo.InvariantCulture);
            }
        }
    }

    private static bool IsAddressInUse(Exception? e)
    {
        for (; e is not null; e = e.InnerException)
        {
            if (e is System.Net.Sockets.SocketException { SocketErrorCode: System.Net.Sockets.SocketError.AddressAlreadyInUse }
                || e.GetType().Name == "AddressInUseException")
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>A graceful stop: grains deactivate and write their state, the silo leaves the cluster.</summary>
    public async Task StopAsync()
    {
        await App.StopAsync();
        await DisposeAsync();
    }

    /// <summary>An abrupt stop: no graceful shutdown, as when a machine dies.</summary>
    public async Task KillAsync()
    {
        using var now = new CancellationTokenSource();
        await now.CancelAsync();
        try
        {
            await App.StopAsync(now.Token);
        }
        catch (OperationCanceledException)
        {
            // Expected: the stop was not allowed to be graceful.
        }

        await DisposeAsync();
    }

    public async ValueTask DisposeAsync()
    {
        Http.Dispose();
        await App.DisposeAsync();
    }

    /// <summary>Posts a body signed the way GitHub signs deliveries, unless told otherwise.</summary>
    public Task<HttpResponseMessage> DeliverAsync(string @event, string body, string? signature = null, bool sign = true)
    {
        var bytes = Encoding.UTF8.GetBytes(body);
        var request = new HttpRequestMessage(HttpMethod.Post, "/api/github/webhooks") { Content = new ByteArrayContent(bytes) };
        request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        request.Headers.Add("X-GitHub-Event", @event);
        request.Headers.Add("X-GitHub-Delivery", Guid.NewGuid().ToString());
        request.Headers.UserAgent.ParseAdd("GitHub-Hookshot/test");
        if (sign)
        {
            request.Headers.Add(WebhookSignature.Header, signature ?? WebhookSignature.Sign(WebhookSecret, bytes));
        }

        return Http.SendAsync(request);
    }

    public async Task<HttpResponseMessage> AdminGetAsync(string path, string? token = AdminToken)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, path);
        if (token is not null)
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        }

        return await Http.SendAsync(request);
    }

    public async Task<JsonElement?> AdminJsonAsync(string path)
    {
        using var response = await AdminGetAsync(path);
        if (response.StatusCode == HttpStatusCode.NotFound)
        {
            return null;
        }

        response.EnsureSuccessStatusCode();
        return await response.Content.ReadFromJsonAsync<JsonElement>();
    }

    public static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}

/// <summary>An xunit fixture holding one all-in-one host for a test class.</summary>
public class RunningBuiltiful : IAsyncLifetime
{
    public const string WebhookSecret = BuiltifulInstance.WebhookSecret;
    public const string AdminToken = BuiltifulInstance.AdminToken;

    private BuiltifulInstance? _instance;

    private BuiltifulInstance Instance => _instance ?? throw new InvalidOperationException("Not started.");

    public HttpClient Http => Instance.Http;

    public Uri BaseAddress => Instance.BaseAddress;

    /// <summary>The host's services, for what HTTP does not show (audit log, meters, loggers).</summary>
    public IServiceProvider Services => Instance.App.Services;

    public SimulatedGitHub World => Instance.World;

    public SimulatedComputeProvider Cloud => Instance.Cloud;

    public Task<(long InstallationId, string Repository)> InstallOrganisationAsync(string? login = null, bool publicRepository = false) =>
        Instance.InstallOrganisationAsync(login, publicRepository);

    public Task<JobRecord> JobCompletes(long jobId, TimeSpan? timeout = null) => Instance.JobCompletes(jobId, timeout);

    public Task KnowInWorldAsync(long installationId, string login, AccountKind kind, params (string FullName, bool IsPublic)[] repositories) =>
        Instance.KnowInWorldAsync(installationId, login, kind, repositories);

    /// <summary>Extra settings for a fixture, as configuration keys.</summary>
    protected virtual IReadOnlyDictionary<string, string> Settings => new Dictionary<string, string>();

    public async Task InitializeAsync() => _instance = await BuiltifulInstance.StartAsync(Settings);

    public async Task DisposeAsync()
    {
        if (_instance is not null)
        {
            await _instance.StopAsync();
        }
    }

    public Task<HttpResponseMessage> DeliverAsync(string @event, string body, string? signature = null, bool sign = true) =>
        Instance.DeliverAsync(@event, body, signature, sign);

    public Task<HttpResponseMessage> AdminGetAsync(string path, string? token = AdminToken) => Instance.AdminGetAsync(path, token);

    public Task<JsonElement?> AdminJsonAsync(string path) => Instance.AdminJsonAsync(path);
}

/// <summary>The real payloads in tests/Fixtures/github-webhooks, edited only where a test needs its own values.</summary>
public static class Payloads
{
    public static string Directory { get; } = Path.Combine(AppContext.BaseDirectory, "Fixtures", "github-webhooks");

    public static string Read(string name) => File.ReadAllText(Path.Combine(Directory, name));

    public static IEnumerable<string> All() => System.IO.Directory.EnumerateFiles(Directory, "*.json").Select(Path.GetFileName)!;

    /// <summary>
    /// A real <c>workflow_job</c> delivery for our label, job id and installation; every other field stays as GitHub sent
    /// it, except the repository's visibility: the recorded examples are public repositories, which Builtiful refuses
    /// unless the organisation opts in, so by default the repository is made private. Pass <paramref name="visibility"/>
    /// null to keep the example's own <c>private</c> and <c>visibility</c>.
    /// </summary>
    public static string WorkflowJob(string fixture, long jobId, long installationId, string label = "builtiful-2vcpu-ubuntu-2404", string? runnerName = null,
        string? visibility = "private", string? repository = null)
    {
        var root = JsonNode.Parse(Read(fixture))!.AsObject();
        var job = root["workflow_job"]!.AsObject();
        job["id"] = jobId;
        job["labels"] = new JsonArray(JsonValue.Create(label));
        job["runner_name"] = runnerName;
        root["installation"] = new JsonObject { ["id"] = installationId, ["node_id"] = "MDIzOkludGVncmF0aW9uSW5zdGFsbGF0aW9u" };
        if (root["repository"] is JsonObject repo)
        {
            if (visibility is not null)
            {
                repo["visibility"] = visibility;
                repo["private"] = visibility != "public";
            }

            if (repository is not null)
            {
                repo["full_name"] = repository;
                repo["name"] = repository[(repository.IndexOf('/', StringComparison.Ordinal) + 1)..];
            }
        }

        return root.ToJsonString();
    }

    /// <summary>A real <c>installation</c> delivery for our installation id and, when given, our account login.</summary>
    public static string Installation(string fixture, long installationId, string? login = null)
    {
        var root = JsonNode.Parse(Read(fixture))!.AsObject();
        root["installation"]!["id"] = installationId;
        if (login is not null)
        {
            root["installation"]!["account"]!["login"] = login;
        }

        return root.ToJsonString();
    }
}
