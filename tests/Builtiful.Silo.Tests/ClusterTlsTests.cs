using System.Net;
using Builtiful.Organisations;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Npgsql;
using Builtiful.Hosting;
using Orleans.Configuration;

namespace Builtiful.Silo.Tests;

/// <summary>
/// Silo-to-silo and client-to-silo TLS 1.3 on a real PostgreSQL cluster, switched on by <c>Orleans:Tls:CertificatePath</c>:
/// members with the cluster certificate form one cluster and call across it; a peer without it cannot join or connect.
/// </summary>
[Collection(PostgresCollection.Name)]
public sealed class ClusterTlsTests(PostgresServer postgres) : IDisposable
{
    private readonly TestCertificates _certificates = new();

    public void Dispose() => _certificates.Dispose();

    [Fact]
    public async Task Two_silos_with_the_cluster_certificate_form_one_cluster_and_grain_calls_cross_between_them()
    {
        await using var cluster = await PostgresCluster.CreateAsync(postgres, fakeClock: false);
        var settings = WithTls(cluster.Settings(), _certificates.Create("cluster").PfxPath);
        var first = await cluster.StartSiloAsync(settings);
        var second = await cluster.StartSiloAsync(settings);
        await BothSeeTwoActiveSilosAsync(first, second);

        var crossings = 0;
        for (var i = 0; i < 6; i++)
        {
            var installationId = await PostgresCluster.InstallAsync(i % 2 == 0 ? first : second);
            var host = await LocationAsync(first, installationId);
            var other = host == SiloAddressOf(first) ? second : first;
            Assert.NotEqual(host, SiloAddressOf(other));

            // Read through the silo that does not hold the organisation: the call crosses silo to silo over TLS.
            var organisation = (await other.AdminJsonAsync($"/api/v1/organisations/{installationId}"))!.Value;
            Assert.Equal("active", organisation.GetProperty("status").GetString());
            crossings++;
        }

        Assert.Equal(6, crossings);
    }

    [Theory]
    [InlineData("another certificate")]
    [InlineData("no certificate")]
    public async Task A_silo_without_the_cluster_certificate_cannot_join(string intruder)
    {
        await using var cluster = await PostgresCluster.CreateAsync(postgres, fakeClock: false);
        var member = await cluster.StartSiloAsync(WithTls(cluster.Settings(), _certificates.Create("cluster").PfxPath));
        var intruderSettings = cluster.Settings();
        intruderSettings["Orleans:Membership:MaxJoinAttemptTime"] = "00:00:10";
        if (intruder == "another certificate")
        {
            intruderSettings = WithTls(intruderSettings, _certificates.Create("stranger").PfxPath);
        }

        await IntruderCannotStartAsync(intruderSettings);

        var hosts = await member.App.Services.GetRequiredService<IGrainFactory>().GetGrain<IManagementGrain>(0).GetHosts(onlyActive: true);
        Assert.Equal([SiloAddressOf(member)], hosts.Keys);
        Assert.Equal(1, await ActiveRowsAsync(cluster));
        var installationId = await PostgresCluster.InstallAsync(member);
        Assert.NotNull(await member.AdminJsonAsync($"/api/v1/organisations/{installationId}"));
    }

    [Theory]
    [InlineData("the cluster certificate", true)]
    [InlineData("another certificate", false)]
    [InlineData("no certificate", false)]
    public async Task A_gateway_client_connects_only_with_the_cluster_certificate(string credential, bool connects)
    {
        await using var cluster = await PostgresCluster.CreateAsync(postgres, fakeClock: false);
        var (_, clusterPfx) = _certificates.Create("cluster");
        var member = await cluster.StartSiloAsync(WithTls(cluster.Settings(), clusterPfx));
        var installationId = await PostgresCluster.InstallAsync(member);
        var settings = new Dictionary<string, string?>
        {
            ["ConnectionStrings:Builtiful"] = cluster.ConnectionString,
            ["Orleans:ClusterId"] = cluster.ClusterId,
        };
        if (credential == "no certificate")
        {
            settings[ClusterTlsOptions.DisabledKey] = "true";
        }
        else
        {
            settings["Orleans:Tls:CertificatePath"] = credential == "the cluster certificate" ? clusterPfx : _certificates.Create("stranger").PfxPath;
            settings["Orleans:Tls:Password"] = _certificates.Password;
        }

        using var client = GatewayClient(settings);
        using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        if (!connects)
        {
            var refused = await Assert.ThrowsAnyAsync<Exception>(() => client.StartAsync(deadline.Token));
            Assert.False(deadline.IsCancellationRequested, $"the client should be refused, not left waiting: {refused}");
            Assert.IsAssignableFrom<OrleansException>(refused);
            return;
        }

        await client.StartAsync(deadline.Token);
        var view = await client.Services.GetRequiredService<IClusterClient>().GetGrain<IOrganisationGrain>(installationId).GetView();
        Assert.Equal(OrganisationStatus.Active, view.Status);
        await client.StopAsync(deadline.Token);
    }

    /// <summary>
    /// Starts a silo that must fail to join. Orleans ends the process of a silo the cluster declares dead; this one records
    /// that instead, since the intruder shares the test process with the real member.
    /// </summary>
    private static async Task IntruderCannotStartAsync(Dictionary<string, string> settings)
    {
        settings["urls"] = "http://127.0.0.1:0";
        settings["contentRoot"] = AppContext.BaseDirectory;
        settings["Orleans:SiloPort"] = BuiltifulInstance.FreePort().ToString(System.Globalization.CultureInfo.InvariantCulture);
        settings["Orleans:GatewayPort"] = BuiltifulInstance.FreePort().ToString(System.Globalization.CultureInfo.InvariantCulture);
        settings["GitHub:WebhookSecret"] = BuiltifulInstance.WebhookSecret;
        settings["Admin:Token"] = BuiltifulInstance.AdminToken;
        settings["Logging:LogLevel:Default"] = "Warning";
        var intruder = EmbeddedHost.Build([.. settings.Select(kv => $"--{kv.Key}={kv.Value}")],
            builder => builder.Services.AddSingleton<IFatalErrorHandler, RecordingFatalErrorHandler>());
        try
        {
            using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(90));
            await Assert.ThrowsAnyAsync<Exception>(() => intruder.StartAsync(deadline.Token));
        }
        finally
        {
            using var now = new CancellationTokenSource(TimeSpan.FromSeconds(10));
            try
            {
                await intruder.StopAsync(now.Token);
            }
            catch (Exception ex) when (ex is OperationCanceledException or OrleansException or InvalidOperationException)
            {
                // It never joined; there is nothing to leave gracefully.
            }

            await intruder.DisposeAsync();
        }
    }

    private sealed class RecordingFatalErrorHandler : IFatalErrorHandler
    {
        public bool IsUnexpected(Exception exception) => true;

        public void OnFatalException(object? sender = null, string? context = null, Exception? exception = null)
        {
        }
    }

    /// <summary>An Orleans client configured the way the standalone gateway configures its own.</summary>
    private static IHost GatewayClient(Dictionary<string, string?> settings)
    {
        var builder = Host.CreateApplicationBuilder();
        builder.Configuration.AddInMemoryCollection(settings);
        builder.Logging.ClearProviders();
        builder.UseOrleansClient(client =>
        {
            client.UseAdoNetClustering(o =>
            {
                o.Invariant = PostgresDatabase.Invariant;
                o.ConnectionString = settings["ConnectionStrings:Builtiful"];
            });
            client.Configure<ClusterOptions>(o =>
            {
                o.ClusterId = settings["Orleans:ClusterId"]!;
                o.ServiceId = "builtiful";
            });
            client.UseBuiltifulClusterTls(builder.Configuration);
            // The gateway host retries for ever; here the first refusal is the answer.
            client.UseConnectionRetryFilter((_, _) => Task.FromResult(false));
        });
        return builder.Build();
    }

    private Dictionary<string, string> WithTls(Dictionary<string, string> settings, string pfx)
    {
        settings.Remove(ClusterTlsOptions.DisabledKey);
        settings["Orleans:Tls:CertificatePath"] = pfx;
        settings["Orleans:Tls:Password"] = _certificates.Password;
        return settings;
    }

    private static SiloAddress SiloAddressOf(BuiltifulInstance silo) => silo.App.Services.GetRequiredService<ILocalSiloDetails>().SiloAddress;

    private static async Task<SiloAddress> LocationAsync(BuiltifulInstance silo, long installationId)
    {
        var grains = silo.App.Services.GetRequiredService<IGrainFactory>();
        return await grains.GetGrain<IManagementGrain>(0).GetActivationAddress(grains.GetGrain<IOrganisationGrain>(installationId))
            ?? throw new InvalidOperationException($"Organisation {installationId} has no activation.");
    }

    private static Task<(int, int)> BothSeeTwoActiveSilosAsync(BuiltifulInstance first, BuiltifulInstance second) => Eventually.Until(
        async () =>
        {
            var a = await first.App.Services.GetRequiredService<IGrainFactory>().GetGrain<IManagementGrain>(0).GetHosts(onlyActive: true);
            var b = await second.App.Services.GetRequiredService<IGrainFactory>().GetGrain<IManagementGrain>(0).GetHosts(onlyActive: true);
            return (a.Count, b.Count);
        },
        counts => counts == (2, 2),
        "both silos see two active silos");

    private static async Task<long> ActiveRowsAsync(PostgresCluster cluster)
    {
        await using var connection = new NpgsqlConnection(cluster.ConnectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand("SELECT count(*) FROM OrleansMembershipTable WHERE DeploymentId = $1 AND Status = 3", connection);
        command.Parameters.AddWithValue(cluster.ClusterId);
        return (long)(await command.ExecuteScalarAsync())!;
    }
}
