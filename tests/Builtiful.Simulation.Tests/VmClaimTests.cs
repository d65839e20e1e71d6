using Builtiful.Testing;
using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text.Json;
using Builtiful.Machines;
using Builtiful.Providers;
using Builtiful.Simulation.Cloud;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Builtiful.Simulation.Tests;

/// <summary>
/// A simulated VM claims as the EC2 user data does: it POSTs its lease id, token, identity document and the cloud's
/// signature over HTTP to a stand-in claim endpoint that checks the signature against the cloud's certificate and
/// answers as scripted. Judged by the world's runner record and the cloud's VM record.
/// </summary>
public sealed class VmClaimTests
{
    [Fact]
    public async Task After_a_503_the_VM_claims_a_signed_document_and_its_runner_comes_online_with_the_answer()
    {
        await using var world = await World.StartAsync();
        using var cloud = Cloud(world);
        await using var endpoint = await ClaimEndpoint.StartAsync(world, cloud.Identity, [503, 200]);
        var lease = Guid.NewGuid();

        var launched = await cloud.Provider.LaunchAsync(Request(lease, endpoint.Url), CancellationToken.None);

        var runner = await Eventually.Until(() => Task.FromResult(world.GitHub.Runners.FirstOrDefault(r => r.Name == $"builtiful-{lease:N}" && r.OnlineAt is not null)), r => r is not null, "the runner comes online");
        Assert.Equal(2, endpoint.Claims.Count);
        Assert.All(endpoint.Claims, c =>
        {
            Assert.True(c.SignatureHolds, "the document is signed by the cloud's key");
            Assert.Equal(launched.InstanceId, c.InstanceId);
            Assert.Equal(SimulatedInstanceIdentity.Region, c.Region);
            Assert.Equal(lease, c.LeaseId);
            Assert.Equal(Token, c.Token);
        });
        Assert.Equal(InstanceState.Running, await cloud.Provider.DescribeAsync(launched.InstanceId, CancellationToken.None));
        Assert.Equal(Acme, runner!.InstallationId);
    }

    [Fact]
    public async Task A_refused_claim_powers_the_VM_off_and_no_runner_comes_online()
    {
        await using var world = await World.StartAsync();
        using var cloud = Cloud(world);
        await using var endpoint = await ClaimEndpoint.StartAsync(world, cloud.Identity, [403]);
        var lease = Guid.NewGuid();

        var launched = await cloud.Provider.LaunchAsync(Request(lease, endpoint.Url), CancellationToken.None);

        await Eventually.Until(() => cloud.Provider.DescribeAsync(launched.InstanceId, CancellationToken.None), state => state == InstanceState.Terminated, "the VM powers off");
        Assert.Single(endpoint.Claims);
        Assert.DoesNotContain(world.GitHub.Runners, r => r.Name == $"builtiful-{lease:N}" && r.OnlineAt is not null);
    }

    [Fact]
    public async Task Claims_that_keep_failing_stop_at_the_bound_and_power_the_VM_off()
    {
        await using var world = await World.StartAsync();
        using var cloud = Cloud(world, attempts: 3);
        await using var endpoint = await ClaimEndpoint.StartAsync(world, cloud.Identity, [503, 503, 503, 503, 503, 503]);

        var launched = await cloud.Provider.LaunchAsync(Request(Guid.NewGuid(), endpoint.Url), CancellationToken.None);

        await Eventually.Until(() => cloud.Provider.DescribeAsync(launched.InstanceId, CancellationToken.None), state => state == InstanceState.Terminated, "the VM powers off");
        Assert.Equal(3, endpoint.Claims.Count);
    }

    [Fact]
    public async Task A_realistic_boot_takes_its_stages_on_the_cloud_clock_launch_and_OS_boot_before_the_claim_then_the_runner_connect()
    {
        await using var world = await World.StartAsync();
        using var cloud = Cloud(world, clock: world.Clock, extra: new Dictionary<string, string?>
        {
            // Each stage's p95 equals its median, so the draw is exact: 10 s pending, 20 s OS boot, 30 s runner connect.
            ["Simulation:InGuestWatchdog"] = "false",
            ["Simulation:Boot:Realistic"] = "true",
            ["Simulation:Boot:Launch:Median"] = "00:00:10",
            ["Simulation:Boot:Launch:P95"] = "00:00:10",
            ["Simulation:Boot:OsBoot:Median"] = "00:00:20",
            ["Simulation:Boot:OsBoot:P95"] = "00:00:20",
            ["Simulation:Boot:RunnerConnect:Median"] = "00:00:30",
            ["Simulation:Boot:RunnerConnect:P95"] = "00:00:30",
        });
        await using var endpoint = await ClaimEndpoint.StartAsync(world, cloud.Identity, [200]);
        var lease = Guid.NewGuid();
        var start = world.Clock.GetUtcNow();

        var launched = await cloud.Provider.LaunchAsync(Request(lease, endpoint.Url), CancellationToken.None);
        Assert.Equal(InstanceState.Pending, await cloud.Provider.DescribeAsync(launched.InstanceId, CancellationToken.None));

        // The fake clock moves a second per poll until the world sees the runner online; each stage may start up to a
        // step late (its timer is set after the previous stage's continuation ran), never early.
        var running = (DateTimeOffset?)null;
        var runner = await Eventually.Until(async () =>
        {
            world.Clock.Advance(TimeSpan.FromSeconds(1));
            if (running is null && await cloud.Provider.DescribeAsync(launched.InstanceId, CancellationToken.None) == InstanceState.Running)
            {
                running = world.Clock.GetUtcNow();
            }

            return world.GitHub.Runners.FirstOrDefault(r => r.Name == $"builtiful-{lease:N}" && r.OnlineAt is not null);
        }, r => r is not null, "the runner comes online");

        Assert.InRange((running!.Value - start).TotalSeconds, 10, 13);
        var claim = Assert.Single(endpoint.Claims);
        Assert.InRange((claim.At - start).TotalSeconds, 30, 34);
        Assert.InRange((runner!.OnlineAt!.Value - claim.At).TotalSeconds, 30, 33);
    }

    private const long Acme = World.Acme;

    private static readonly string Token = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(32));

    private static LaunchRequest Request(Guid lease, Uri claimUrl) => new()
    {
        LeaseId = lease,
        InstallationId = Acme,
        JobId = 1,
        MachineType = new MachineType("builtiful-2vcpu-ubuntu-2404", 2, 8, CpuArchitecture.X64, "ubuntu-2404",
            new Dictionary<string, string> { [SimulatedComputeProvider.ProviderName] = "sim-image" }),
        ClientToken = $"{lease:N}-1",
        Claim = new ClaimTicket(claimUrl, Token),
        ExpiresAt = DateTimeOffset.UtcNow.AddHours(1),
        Tags = new Dictionary<string, string> { [InstanceTags.Lease] = lease.ToString("N") },
    };

    private static CloudServices Cloud(World world, int attempts = 5, IReadOnlyDictionary<string, string?>? extra = null, TimeProvider? clock = null)
    {
        var settings = new Dictionary<string, string?>
        {
            ["Simulation:BootDelay"] = "00:00:00.010",
            ["Simulation:ClaimAttempts"] = attempts.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["Simulation:ClaimRetryDelay"] = "00:00:00.010",
            ["Simulation:ClaimRetryMaxDelay"] = "00:00:00.020",
        };
        foreach (var (key, value) in extra ?? new Dictionary<string, string?>())
        {
            settings[key] = value;
        }

        var configuration = new ConfigurationBuilder().AddInMemoryCollection(settings).Build();
        var services = new ServiceCollection().AddLogging();
        services.AddKeyedSingleton(BuiltifulClock.Key, clock ?? TimeProvider.System);
        services.AddSingleton(world.GitHub);
        services.AddSimulatedCompute(configuration);
        return new CloudServices(services.BuildServiceProvider());
    }



    private sealed class CloudServices(ServiceProvider services) : IDisposable
    {
        public SimulatedComputeProvider Provider => services.GetRequiredService<SimulatedComputeProvider>();

        public SimulatedInstanceIdentity Identity => services.GetRequiredService<SimulatedInstanceIdentity>();

        public void Dispose() => services.Dispose();
    }

    private sealed record Claim(Guid LeaseId, string Token, string InstanceId, string Region, bool SignatureHolds, DateTimeOffset At);

    /// <summary>The gateway's claim endpoint, reduced: verifies the signature, records the claim, answers from a script; a 200 carries a config the world minted.</summary>
    private sealed class ClaimEndpoint : IAsyncDisposable
    {
        private readonly WebApplication _app;
        private readonly ConcurrentQueue<Claim> _claims = new();
        private readonly ConcurrentQueue<int> _answers;
        private readonly World _world;
        private readonly X509Certificate2 _trusted;

        private ClaimEndpoint(WebApplication app, World world, SimulatedInstanceIdentity cloud, IEnumerable<int> answers)
        {
            _app = app;
            _world = world;
            _trusted = X509Certificate2.CreateFromPem(cloud.CertificatePem);
            _answers = new ConcurrentQueue<int>(answers);
        }

        public Uri Url { get; private set; } = null!;

        public IReadOnlyList<Claim> Claims => [.. _claims];

        public static async Task<ClaimEndpoint> StartAsync(World world, SimulatedInstanceIdentity cloud, IEnumerable<int> answers)
        {
            var builder = WebApplication.CreateSlimBuilder();
            builder.WebHost.UseUrls("http://127.0.0.1:0");
            builder.Logging.ClearProviders();
            var app = builder.Build();
            var endpoint = new ClaimEndpoint(app, world, cloud, answers);
            app.MapPost("/api/runners/claim", (Delegate)endpoint.HandleAsync);
            await app.StartAsync();
            endpoint.Url = new Uri(app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First() + "/api/runners/claim");
            return endpoint;
        }

        public async ValueTask DisposeAsync()
        {
            await _app.StopAsync();
            await _app.DisposeAsync();
            _trusted.Dispose();
        }

        private async Task<IResult> HandleAsync(HttpContext context)
        {
            using var body = await JsonDocument.ParseAsync(context.Request.Body);
            var root = body.RootElement;
            var document = Convert.FromBase64String(root.GetProperty("document").GetString()!);
            var signature = Convert.FromBase64String(root.GetProperty("signature").GetString()!);
            using var parsed = JsonDocument.Parse(document);
            var lease = Guid.ParseExact(root.GetProperty("leaseId").GetString()!, "D");
            _claims.Enqueue(new Claim(
                lease,
                root.GetProperty("token").GetString()!,
                parsed.RootElement.GetProperty("instanceId").GetString()!,
                parsed.RootElement.GetProperty("region").GetString()!,
                Verify(document, signature),
                _world.Clock.GetUtcNow()));
            var status = _answers.TryDequeue(out var next) ? next : 503;
            if (status != 200)
            {
                return Results.StatusCode(status);
            }

            var config = _world.GitHub.GenerateJitConfig(Acme, "acme/widgets", 1, $"builtiful-{lease:N}", ["builtiful-2vcpu-ubuntu-2404"]);
            return Results.Json(new { runnerName = $"builtiful-{lease:N}", encodedJitConfig = config.EncodedJitConfig });
        }

        private bool Verify(byte[] document, byte[] signature)
        {
            using var key = _trusted.GetRSAPublicKey()!;
            return key.VerifyData(document, signature, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        }
    }
}
