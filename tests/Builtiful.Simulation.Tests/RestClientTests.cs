using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using Builtiful.GitHub;
using Builtiful.Providers;
using Builtiful.Simulation.GitHub;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;

namespace Builtiful.Simulation.Tests;

/// <summary>The world's REST API as Builtiful's real GitHub App client sees it.</summary>
public sealed class RestClientTests
{
    [Fact]
    public async Task A_config_minted_over_REST_connects_once_and_takes_a_job()
    {
        await using var client = await Client.StartAsync();
        var config = await client.Source.CreateAsync(OrgRunner("builtiful-rest-1"), CancellationToken.None).Bounded();
        var job = await client.World.QueueAsync("acme/widgets", "builtiful-4vcpu");

        var session = client.World.GitHub.Connect(config.EncodedJitConfig);
        Assert.NotNull(session);
        Assert.Null(client.World.GitHub.Connect(config.EncodedJitConfig));

        var taken = await session.WaitForJobAsync(CancellationToken.None).Bounded();
        Assert.Equal(job, taken!.JobId);
        var registered = client.World.GitHub.Runners.Single(r => r.Name == "builtiful-rest-1");
        // Builtiful registers every runner on its job's repository: no runner group, and no other repository's jobs.
        Assert.Equal((World.Acme, (long?)null, (string?)"acme/widgets", job), (registered.InstallationId, registered.RunnerGroupId, registered.Repository, registered.JobId));
    }

    [Fact]
    public async Task A_user_account_registers_on_the_repository_and_has_no_organisation_runners()
    {
        await using var client = await Client.StartAsync();
        var userRunner = new RunnerRegistration
        {
            InstallationId = World.Octocat,
            RunnerName = "builtiful-user-1",
            Labels = ["linux"],
            AccountLogin = "octocat",
            AccountType = "User",
            Repository = "octocat/hello",
        };

        await client.Source.CreateAsync(userRunner, CancellationToken.None).Bounded();
        var refused = await Assert.ThrowsAnyAsync<GitHubApiException>(
            () => client.Source.FindRunnerAsync(World.Octocat, RunnerScope.Organisation("octocat"), "builtiful-user-1", CancellationToken.None).Bounded());

        Assert.Equal(HttpStatusCode.NotFound, refused.StatusCode);
        Assert.Equal("octocat/hello", client.World.GitHub.Runners.Single().Repository);
    }

    [Fact]
    public async Task Deleting_an_idle_runner_ends_its_wait_and_a_busy_one_is_refused_422()
    {
        await using var client = await Client.StartAsync();
        var idleConfig = await client.Source.CreateAsync(OrgRunner("builtiful-idle", "gpu"), CancellationToken.None).Bounded();
        var busyConfig = await client.Source.CreateAsync(OrgRunner("builtiful-busy"), CancellationToken.None).Bounded();
        var busy = client.World.GitHub.Connect(busyConfig.EncodedJitConfig)!;
        await client.World.QueueAsync("acme/widgets", "builtiful-4vcpu");
        Assert.NotNull(await busy.WaitForJobAsync(CancellationToken.None).Bounded());
        var idle = client.World.GitHub.Connect(idleConfig.EncodedJitConfig)!;
        var waiting = idle.WaitForJobAsync(CancellationToken.None);

        Assert.Equal(RunnerRemoval.Removed, await client.Source.RemoveAsync(OrgRunner("builtiful-idle"), CancellationToken.None).Bounded());
        Assert.Null(await waiting.Bounded());

        var scope = RunnerScope.Repository("acme/widgets");
        var listed = await client.Source.FindRunnerAsync(World.Acme, scope, "builtiful-busy", CancellationToken.None).Bounded();
        Assert.True(listed!.Busy);
        Assert.Equal(RunnerRemoval.Busy, await client.Source.DeleteRunnerAsync(World.Acme, scope, listed.Id, CancellationToken.None).Bounded());
        Assert.Null(client.World.GitHub.Runners.Single(r => r.Name == "builtiful-busy").RemovedAt);
        Assert.Null(await client.Source.FindRunnerAsync(World.Acme, scope, "builtiful-idle", CancellationToken.None).Bounded());
    }

    [Fact]
    public async Task A_taken_name_is_freed_by_the_client_when_its_registration_is_idle()
    {
        await using var client = await Client.StartAsync();
        var first = await client.Source.CreateAsync(OrgRunner("builtiful-again"), CancellationToken.None).Bounded();
        var second = await client.Source.CreateAsync(OrgRunner("builtiful-again"), CancellationToken.None).Bounded();

        Assert.Null(client.World.GitHub.Connect(first.EncodedJitConfig));
        Assert.NotNull(client.World.GitHub.Connect(second.EncodedJitConfig));
        Assert.Equal(2, client.World.GitHub.Runners.Count(r => r.Name == "builtiful-again"));
        Assert.Single(client.World.GitHub.Runners, r => r.Name == "builtiful-again" && r.RemovedAt is null);
    }

    [Fact]
    public async Task Listing_runners_pages_with_a_Link_header()
    {
        await using var client = await Client.StartAsync();
        for (var i = 0; i < 130; i++)
        {
            client.World.GitHub.GenerateJitConfig(World.Acme, null, 1, $"builtiful-{i:D3}", ["linux"]);
        }

        var all = await client.Source.ListRunnersAsync(World.Acme, RunnerScope.Organisation("acme"), CancellationToken.None).Bounded();

        Assert.Equal(130, all.Select(r => r.Name).Distinct().Count());
    }

    [Fact]
    public async Task Delivery_recovery_redelivers_exactly_the_failed_deliveries_with_their_guids()
    {
        await using var client = await Client.StartAsync(o => o.DeliveryDropRate = 0);
        var world = client.World;
        var delivered = await world.QueueAsync("acme/widgets", "linux");
        await world.GitHub.WhenDeliveredAsync().Bounded();
        world.Gateway.Answer = 500;
        var refused = await world.QueueAsync("acme/widgets", "linux");
        var refusedToo = await world.QueueAsync("acme/gadgets", "linux");
        await world.GitHub.WhenDeliveredAsync().Bounded();
        world.Gateway.Answer = 200;
        var failed = world.GitHub.Deliveries.Where(d => d.StatusCode != 200).ToList();
        Assert.Equal([refused, refusedToo], failed.Select(d => d.JobId!.Value).Order());

        var summary = await client.Recovery.RecoverAsync(CancellationToken.None).Bounded();
        await world.GitHub.WhenDeliveredAsync().Bounded();

        Assert.Equal(failed.Select(d => d.Id).Order(), summary.Redelivered.Order());
        Assert.Equal(2, world.GitHub.Redelivered);
        var redeliveries = world.GitHub.Deliveries.Where(d => d.Redelivery).ToList();
        Assert.Equal(failed.Select(d => d.DeliveryGuid).Order(), redeliveries.Select(d => d.DeliveryGuid).Order());
        Assert.All(redeliveries, d => Assert.Equal(200, d.StatusCode));
        Assert.Equal(2, world.Gateway.Received.Count(d => d.Event == "workflow_job" && d.JobId == refused));
        Assert.Single(world.Gateway.Received, d => d.Event == "workflow_job" && d.JobId == delivered);

        // A second pass finds nothing left: each failed guid has since been answered.
        var again = await client.Recovery.RecoverAsync(CancellationToken.None).Bounded();
        Assert.Empty(again.Redelivered);
    }

    [Fact]
    public async Task A_dropped_delivery_comes_back_only_through_a_redelivery()
    {
        await using var client = await Client.StartAsync(o => o.DeliveryDropRate = 1);
        var job = await client.World.QueueAsync("acme/widgets", "linux");
        await client.World.GitHub.WhenDeliveredAsync().Bounded();
        Assert.Empty(client.World.ActionsReceived(job));

        var summary = await client.Recovery.RecoverAsync(CancellationToken.None).Bounded();
        await client.World.GitHub.WhenDeliveredAsync().Bounded();

        Assert.Single(summary.Redelivered);
        var arrived = Assert.Single(client.World.Gateway.Received, d => d.Event == "workflow_job");
        var original = client.World.GitHub.Deliveries.Single(d => d.JobId == job && !d.Redelivery);
        Assert.Equal(original.DeliveryGuid, arrived.Guid);
        Assert.True(WebhookSignature.IsValid(World.Secret, arrived.Body, arrived.Headers[WebhookSignature.Header]));
    }

    [Fact]
    public async Task Requests_without_GitHubs_headers_or_a_valid_App_JWT_are_refused()
    {
        await using var client = await Client.StartAsync();
        using var http = new HttpClient { BaseAddress = client.Server.ApiUrl };

        using var bare = await http.GetAsync(new Uri("app/hook/deliveries", UriKind.Relative));
        Assert.Equal(HttpStatusCode.BadRequest, bare.StatusCode);

        using var request = new HttpRequestMessage(HttpMethod.Get, "app/installations/42");
        request.Headers.Accept.ParseAdd("application/vnd.github+json");
        request.Headers.Add("X-GitHub-Api-Version", "2022-11-28");
        request.Headers.UserAgent.ParseAdd("test/1");
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", "not.a.jwt");
        using var unauthorised = await http.SendAsync(request);
        Assert.Equal(HttpStatusCode.Unauthorized, unauthorised.StatusCode);

        using var ui = await http.PostAsync(new Uri("simulation/jobs/123/approve", UriKind.Relative), null);
        Assert.Equal(HttpStatusCode.NotFound, ui.StatusCode);
    }

    [Fact]
    public async Task The_simulation_UI_queues_and_approves_jobs()
    {
        await using var client = await Client.StartAsync();
        using var http = new HttpClient { BaseAddress = client.Server.ApiUrl };
        using var queued = await http.PostAsync(new Uri("simulation/jobs", UriKind.Relative),
            new StringContent("""{"repository":"acme/widgets","labels":["linux"],"environment":"prod"}""", System.Text.Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.Created, queued.StatusCode);
        var id = System.Text.Json.JsonDocument.Parse(await queued.Content.ReadAsStringAsync()).RootElement.GetProperty("id").GetInt64();
        Assert.Equal(SimulatedJobStatus.Waiting, client.World.Job(id).Status);

        using var approved = await http.PostAsync(new Uri($"simulation/jobs/{id.ToString(CultureInfo.InvariantCulture)}/approve", UriKind.Relative), null);

        Assert.Equal(HttpStatusCode.Accepted, approved.StatusCode);
        Assert.Equal(SimulatedJobStatus.Queued, client.World.Job(id).Status);
    }

    private static RunnerRegistration OrgRunner(string name, params string[] extraLabels) => new()
    {
        InstallationId = World.Acme,
        RunnerName = name,
        Labels = ["builtiful-4vcpu", "linux", .. extraLabels],
        AccountLogin = "acme",
        AccountType = "Organization",
        Repository = "acme/widgets",
        RunnerGroupId = 1,
    };

    /// <summary>Builtiful's GitHub App client as the host registers it, pointed at the world's REST server.</summary>
    private sealed class Client : IAsyncDisposable
    {
        private Client(World world, SimulatedGitHubServer server, ServiceProvider services)
        {
            World = world;
            Server = server;
            Services = services;
        }

        public World World { get; }

        public SimulatedGitHubServer Server { get; }

        public ServiceProvider Services { get; }

        public GitHubRunnerConfigSource Source => Services.GetRequiredService<GitHubRunnerConfigSource>();

        public DeliveryRecovery Recovery => Services.GetRequiredService<DeliveryRecovery>();

        public static async Task<Client> StartAsync(Action<SimulatedGitHubOptions>? configure = null)
        {
            var world = await World.StartAsync(configure);
            var server = await SimulatedGitHubServer.StartAsync(world.GitHub, CancellationToken.None);
            var settings = new Dictionary<string, string?>
            {
                ["GitHub:Mode"] = "App",
                ["GitHub:ApiUrl"] = server.ApiUrl.ToString(),
                ["GitHub:AppId"] = world.GitHub.AppId.ToString(CultureInfo.InvariantCulture),
                ["GitHub:PrivateKey"] = world.GitHub.AppPrivateKeyPem,
            };
            var services = new ServiceCollection()
                .AddLogging()
                .AddKeyedSingleton<TimeProvider>(BuiltifulClock.Key, world.Clock)
                .AddGitHubApp(new ConfigurationBuilder().AddInMemoryCollection(settings).Build())
                .BuildServiceProvider();
            return new Client(world, server, services);
        }

        public async ValueTask DisposeAsync()
        {
            await Services.DisposeAsync();
            await Server.DisposeAsync();
            await World.DisposeAsync();
        }
    }
}
