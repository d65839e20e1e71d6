using System.Security.Cryptography;
using Builtiful.Postgres;
using Builtiful.Providers;
using Builtiful.Simulation;
using Builtiful.Simulation.GitHub;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;

namespace Builtiful.Silo.Tests;

/// <summary>
/// A Builtiful cluster on one migrated PostgreSQL database: any number of all-in-one silos, one fake clock for
/// deadlines, and one simulated cloud and one simulated GitHub that outlive any silo, as the real ones do.
/// </summary>
public sealed class PostgresCluster : IAsyncDisposable
{
    public static readonly string KeyOne = Convert.ToBase64String(RandomNumberGenerator.GetBytes(32));
    public static readonly string KeyTwo = Convert.ToBase64String(RandomNumberGenerator.GetBytes(32));

    /// <summary>Every silo of a PostgreSQL cluster derives the same claim tokens, so none is generated: this one is shared.</summary>
    public static readonly string ClaimKey = Convert.ToBase64String(RandomNumberGenerator.GetBytes(32));

    private readonly List<BuiltifulInstance> _silos = [];
    private readonly ServiceProvider _cloudServices;

    private PostgresCluster(string connectionString, FakeTimeProvider? clock, SimulatedGitHubHost gitHub)
    {
        ConnectionString = connectionString;
        Clock = clock;
        GitHub = gitHub;
        var services = new ServiceCollection().AddLogging();
        services.AddKeyedSingleton(BuiltifulClock.Key, (TimeProvider?)Clock ?? TimeProvider.System);
        services.Configure<SimulationOptions>(o => o.BootDelay = TimeSpan.FromSeconds(30));
        services.AddSingleton<SimulatedFaultLedger>();
        services.AddSingleton<Simulation.Cloud.SimulatedInstanceIdentity>();
        services.AddSingleton<Simulation.Cloud.BootTimes>();
        services.AddSingleton<SimulatedComputeProvider>();
        services.AddSingleton(gitHub.World);
        _cloudServices = services.BuildServiceProvider();
    }

    /// <summary>One GitHub for every silo, outliving any of them, as GitHub does; deliveries go to every live silo in turn.</summary>
    public SimulatedGitHubHost GitHub { get; }

    public string ConnectionString { get; }

    /// <summary>Deadlines' clock; null when the cluster runs on real time with its own simulated runners.</summary>
    public FakeTimeProvider? Clock { get; }

    public SimulatedComputeProvider Cloud => _cloudServices.GetRequiredService<SimulatedComputeProvider>();

    public string ClusterId { get; } = "pg-" + Guid.NewGuid().ToString("N")[..12];

    public IReadOnlyList<BuiltifulInstance> Silos => _silos;

    public static async Task<PostgresCluster> CreateAsync(PostgresServer server, bool fakeClock = true)
    {
        ArgumentNullException.ThrowIfNull(server);
        var connectionString = await server.CreateDatabaseAsync("b" + Guid.NewGuid().ToString("N")[..16]);
        await new SchemaMigrator().MigrateAsync(connectionString, CancellationToken.None);
        var clock = fakeClock ? new FakeTimeProvider(DateTimeOffset.UtcNow) : null;
        var gitHub = await SimulatedGitHubHost.StartAsync(new SimulatedGitHubOptions { DefaultRunTime = TimeSpan.FromMilliseconds(200) },
            BuiltifulInstance.WebhookSecret, (TimeProvider?)clock ?? TimeProvider.System, null, CancellationToken.None);
        return new PostgresCluster(connectionString, clock, gitHub);
    }

    public Dictionary<string, string> Settings(string activeKey = "one", params (string Id, string Key)[] keys)
    {
        if (keys.Length == 0)
        {
            keys = [("one", KeyOne)];
        }

        var settings = new Dictionary<string, string>
        {
            ["ConnectionStrings:Builtiful"] = ConnectionString,
            ["Orleans:ClusterId"] = ClusterId,

            // Members on loopback; ClusterTlsTests and the production-pair tests run the cluster with TLS.
            [ClusterTlsOptions.DisabledKey] = "true",
            ["Storage:ActiveKeyId"] = activeKey,
            ["Claims:Key"] = ClaimKey,
            ["Leases:CheckPeriod"] = "00:00:01",
            ["Leases:TerminationPollInterval"] = "00:00:01",
            ["Organisations:MaxConcurrentVms"] = "2",
            ["Orleans:Membership:ProbeTimeout"] = "00:00:01",
            ["Orleans:Membership:NumMissedProbesLimit"] = "2",
            ["Orleans:Membership:NumVotesForDeathDeclaration"] = "1",
            ["Orleans:Membership:TableRefreshTimeout"] = "00:00:01",
            ["Orleans:Membership:IAmAliveTablePublishTimeout"] = "00:00:02",
            ["Simulation:BootDelay"] = "00:00:00.100",
            ["Simulation:GitHub:DefaultRunTime"] = "00:00:00.200",
        };
        for (var i = 0; i < keys.Length; i++)
        {
            settings[$"Storage:EncryptionKeys:{i}:Id"] = keys[i].Id;
            settings[$"Storage:EncryptionKeys:{i}:Key"] = keys[i].Key;
        }

        return settings;
    }

    public async Task<BuiltifulInstance> StartSiloAsync(Dictionary<string, string>? settings = null)
    {
        var silo = await BuiltifulInstance.StartAsync(settings ?? Settings(), builder =>
        {
            builder.UseSimulatedGitHub(GitHub.World, GitHub.ApiUrl);
            if (Clock is not null)
            {
                builder.Services.AddKeyedSingleton<TimeProvider>(BuiltifulClock.Key, Clock);
                builder.Services.AddSingleton(Cloud);
                builder.Services.AddSingleton<IComputeProvider>(Cloud);

                // The shared cloud signs its VMs' identity documents: every silo's gateway trusts it, not one of its own.
                var identity = _cloudServices.GetRequiredService<Simulation.Cloud.SimulatedInstanceIdentity>();
                builder.Configuration[identity.GatewaySetting.Key] = identity.CertificatePem;
            }
        });
        _silos.Add(silo);
        Deliver();
        return silo;
    }

    private void Deliver() => GitHub.World.SetWebhookTargets([.. _silos.Select(s => new Uri(s.BaseAddress, "/api/github/webhooks"))]);

    public async Task StopAsync(BuiltifulInstance silo)
    {
        ArgumentNullException.ThrowIfNull(silo);
        _silos.Remove(silo);
        Deliver();
        await silo.StopAsync();
    }

    public async Task KillAsync(BuiltifulInstance silo)
    {
        ArgumentNullException.ThrowIfNull(silo);
        _silos.Remove(silo);
        Deliver();
        await silo.KillAsync();
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var silo in _silos.ToList())
        {
            await silo.StopAsync();
        }

        await _cloudServices.DisposeAsync();
        await GitHub.DisposeAsync();
    }

    public static async Task<long> InstallAsync(BuiltifulInstance silo)
    {
        ArgumentNullException.ThrowIfNull(silo);
        var installationId = Random.Shared.NextInt64(1_000_000, long.MaxValue);

        // GitHub sends installation.created itself; the organisation's one repository is where jobs are queued.
        await silo.World.InstallAsync(installationId, $"org-{installationId}", AccountKind.Organization);
        silo.World.AddRepository(installationId, $"org-{installationId}/app", isPublic: false);
        await Eventually.Until(async () => await silo.AdminJsonAsync($"/api/v1/organisations/{installationId}"), o => o is not null, $"installation {installationId} has arrived");
        return installationId;
    }

    /// <summary>
    /// On real time the world queues the job, so a runner takes it; on the fake clock the delivery is posted by hand,
    /// so no runner ever takes it and the test plays GitHub.
    /// </summary>
    public async Task<long> QueueAsync(BuiltifulInstance silo, long installationId)
    {
        ArgumentNullException.ThrowIfNull(silo);
        if (Clock is null)
        {
            return await GitHub.World.QueueJobAsync(new JobSpec { Repository = $"org-{installationId}/app", Labels = ["builtiful-2vcpu-ubuntu-2404"] });
        }

        var jobId = Random.Shared.NextInt64(1_000_000, long.MaxValue);
        using var response = await silo.DeliverAsync("workflow_job", Payloads.WorkflowJob("workflow_job.queued.5.json", jobId, installationId, repository: $"org-{installationId}/app"));
        response.EnsureSuccessStatusCode();
        return jobId;
    }

    /// <summary>The lease started for the job; the world's queued delivery arrives on its own, so this waits for it.</summary>
    public static async Task<string> LeaseOfAsync(BuiltifulInstance silo, long installationId, long jobId)
    {
        ArgumentNullException.ThrowIfNull(silo);
        string? found = null;
        await Eventually.Until(async () =>
        {
            var organisation = await silo.AdminJsonAsync($"/api/v1/organisations/{installationId}");
            foreach (var lease in organisation?.GetProperty("leaseIds").EnumerateArray() ?? Enumerable.Empty<System.Text.Json.JsonElement>())
            {
                // A slot is stored before its lease: a lease the organisation lists may not be stored yet ("not yet").
                if (await silo.AdminJsonAsync($"/api/v1/leases/{lease.GetString()}") is { } view && view.GetProperty("launchedForJobId").GetInt64() == jobId)
                {
                    found = lease.GetString();
                }
            }

            return found;
        }, lease => lease is not null, $"a lease is started for job {jobId}");
        return found!;
    }

    /// <summary>
    /// A lease not found is "not yet": its order rides its next write, so a lease lost with its silo is unknown until its
    /// organisation orders it again.
    /// </summary>
    public static async Task<System.Text.Json.JsonElement> LeaseReachesAsync(BuiltifulInstance silo, string leaseId, string phase, TimeSpan? timeout = null) =>
        (await Eventually.Until(
            () => silo.AdminJsonAsync($"/api/v1/leases/{leaseId}"),
            l => l is { } lease && lease.GetProperty("phase").GetString() == phase,
            $"lease {leaseId} is {phase}",
            timeout))!.Value;
}
