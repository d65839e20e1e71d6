using System.Collections.Concurrent;
using System.Globalization;
using Builtiful.Compute.Ec2;
using Builtiful.Compute.Ec2.Api;
using Builtiful.Launching;
using Builtiful.Machines;
using Builtiful.Providers;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;
using Orleans.TestingHost;
using Xunit.Abstractions;

namespace Builtiful.Grains.Tests;

/// <summary>
/// Three silos, each with its own EC2 provider, launch into moto through one recording transport: the record of
/// RunInstances requests (stamped with the test's fake clock) is the independent judge of the cluster's launch budget.
/// </summary>
public abstract class BudgetCluster : IAsyncLifetime
{
    public const int Burst = 5;
    public const double PerSecond = 2;

    public FakeTimeProvider Clock { get; } = new(LifecycleCluster.Epoch);

    public MotoServer Moto { get; } = new();

    public RunInstancesRecord Record { get; private set; } = null!;

    public InProcessTestCluster Cluster { get; private set; } = null!;

    protected virtual void Configure(Dictionary<string, string?> settings)
    {
    }

    public IComputeProvider Provider(int silo) => Cluster.Silos[silo].ServiceProvider.GetRequiredService<IComputeProvider>();

    public async Task InitializeAsync()
    {
        await Moto.InitializeAsync();
        Record = new RunInstancesRecord(Clock) { SecondRegionSubnets = Moto.SecondSubnetIds };
        var settings = new Dictionary<string, string?>
        {
            ["Compute:Provider"] = "Ec2",
            ["Compute:Ec2:Region"] = MotoServer.Region,
            ["Compute:Ec2:ClusterName"] = "builtiful-launch-budget",
            ["Compute:Ec2:ServiceUrl"] = Moto.Url.ToString(),
            ["Compute:Ec2:SecurityGroupId"] = Moto.SecurityGroupId,
            ["Compute:Ec2:Images:x64"] = Moto.ImageId,
            ["Compute:Ec2:InstanceTypes:2vcpu-x64:0"] = "m7i.large",
            // EC2's published RunInstances bucket, per account and region.
            ["Compute:Ec2:ApiLimits:RunInstances:Burst"] = Burst.ToString(CultureInfo.InvariantCulture),
            ["Compute:Ec2:ApiLimits:RunInstances:PerSecond"] = PerSecond.ToString(CultureInfo.InvariantCulture),
        };
        for (var i = 0; i < Moto.SubnetIds.Count; i++)
        {
            settings[$"Compute:Ec2:SubnetIds:{i}"] = Moto.SubnetIds[i];
        }

        Configure(settings);
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(settings).Build();
        var builder = new InProcessTestClusterBuilder(3);
        builder.ConfigureSilo((_, silo) =>
        {
            silo.Services.AddKeyedSingleton<TimeProvider>(BuiltifulClock.Key, Clock);
            silo.Services.AddSingleton(new Ec2Transport { HttpClientFactory = Record.Factory, Credentials = MotoServer.Credentials });
            silo.Services.AddSingleton<ILaunchBudget, ClusterLaunchBudget>();
            silo.Services.AddEc2Compute(configuration);
        });
        Cluster = builder.Build();
        await Cluster.DeployAsync();
    }

    public async Task DisposeAsync()
    {
        await Cluster.DisposeAsync();
        Record.Dispose();
        await Moto.DisposeAsync();
    }

    public static LaunchRequest Request(long installationId, DateTimeOffset now)
    {
        var lease = Guid.NewGuid();
        return new LaunchRequest
        {
            LeaseId = lease,
            InstallationId = installationId,
            JobId = 1,
            MachineType = new MachineType("builtiful-2vcpu-ubuntu-2404", 2, 8, CpuArchitecture.X64, "ubuntu-2404", new Dictionary<string, string>()),
            ClientToken = $"{lease:N}-1",
            Claim = new ClaimTicket(new Uri("https://builtiful.example.com/api/runners/claim"), Convert.ToHexStringLower(System.Security.Cryptography.RandomNumberGenerator.GetBytes(32))),
            ExpiresAt = now + TimeSpan.FromHours(6),
            Tags = new Dictionary<string, string> { [InstanceTags.Lease] = lease.ToString("N"), [InstanceTags.Cluster] = "budget-tests" },
        };
    }

    /// <summary>Moves the fake clock in small steps until every launch is done; small steps cannot jump over a refill.</summary>
    public async Task PumpUntilAsync(Func<bool> done, TimeSpan maxFakeTime)
    {
        var start = Clock.GetUtcNow();
        using var wall = new CancellationTokenSource(TimeSpan.FromMinutes(2));
        while (!done())
        {
            Assert.True(Clock.GetUtcNow() - start <= maxFakeTime && !wall.IsCancellationRequested, $"the launches did not finish within {maxFakeTime} of fake time");
            Clock.Advance(TimeSpan.FromMilliseconds(50));
            await Task.Delay(5, CancellationToken.None);
        }
    }
}

/// <summary>Every RunInstances request that reaches the transport, with its region and the fake time it was sent at.</summary>
public sealed class RunInstancesRecord : DelegatingHandler
{
    private readonly TimeProvider _clock;
    private readonly ConcurrentQueue<(string Region, DateTimeOffset At)> _sent = new();

    public RunInstancesRecord(TimeProvider clock) : base(new HttpClientHandler())
    {
        _clock = clock;
        Factory = new RecordingFactory(new HttpClient(this, disposeHandler: false) { Timeout = TimeSpan.FromSeconds(30) });
    }

    public Amazon.Runtime.HttpClientFactory Factory { get; }

    public IReadOnlyList<(string Region, DateTimeOffset At)> Sent => [.. _sent];

    public IReadOnlyList<string> SecondRegionSubnets { get; init; } = [];

    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        var body = request.Content is null ? "" : await request.Content.ReadAsStringAsync(cancellationToken);
        if (body.Contains("Action=RunInstances", StringComparison.Ordinal))
        {
            // The subnet names the region: each region has its own runner subnets.
            var region = SecondRegionSubnets.Any(id => body.Contains(id, StringComparison.Ordinal)) ? MotoServer.SecondRegion : MotoServer.Region;
            _sent.Enqueue((region, _clock.GetUtcNow()));
        }

        return await base.SendAsync(request, cancellationToken);
    }

    private sealed class RecordingFactory(HttpClient client) : Amazon.Runtime.HttpClientFactory
    {
        public override HttpClient CreateHttpClient(Amazon.Runtime.IClientConfig clientConfig) => client;

        public override bool UseSDKHttpClientCaching(Amazon.Runtime.IClientConfig clientConfig) => false;

        public override bool DisposeHttpClientsAfterUse(Amazon.Runtime.IClientConfig clientConfig) => false;
    }
}

public sealed class OneTargetBudget : BudgetCluster;

public sealed class TwoTargetBudget : BudgetCluster
{
    protected override void Configure(Dictionary<string, string?> settings)
    {
        settings["Compute:Ec2:Name"] = "east";
        settings["Compute:Ec2:Targets:0:Name"] = "west";
        settings["Compute:Ec2:Targets:0:Region"] = MotoServer.SecondRegion;
        settings["Compute:Ec2:Targets:0:ServiceUrl"] = Moto.Url.ToString();
        settings["Compute:Ec2:Targets:0:SecurityGroupId"] = Moto.SecondSecurityGroupId;
        settings["Compute:Ec2:Targets:0:Images:x64"] = Moto.ImageId;
        for (var i = 0; i < Moto.SecondSubnetIds.Count; i++)
        {
            settings[$"Compute:Ec2:Targets:0:SubnetIds:{i}"] = Moto.SecondSubnetIds[i];
        }
    }
}

public sealed class LaunchBudgetTests(OneTargetBudget world, ITestOutputHelper output) : IClassFixture<OneTargetBudget>
{
    [Fact]
    public async Task Three_silos_launching_60_VMs_never_exceed_the_accounts_RunInstances_bucket_together_and_wait_for_tokens_before_sending()
    {
        var start = world.Clock.GetUtcNow();
        var launches = Enumerable.Range(0, 60)
            .Select(i => world.Provider(i % 3).LaunchAsync(BudgetCluster.Request(installationId: 1 + (i % 4), start), CancellationToken.None))
            .ToArray();

        // The clock stands still: the burst goes out and the rest wait at the cluster's one budget (a send before a refill
        // would be stamped with the same fake instant, which the bucket check below refuses).
        await Eventually.Until(() => Task.FromResult(world.Record.Sent.Count), n => n >= BudgetCluster.Burst, "the burst is sent");
        var budget = world.Cluster.Client.GetGrain<ILaunchBudgetGrain>($"ec2/default/{MotoServer.Region}");
        await Eventually.Until(budget.View, v => v.Waiting > 0 && v.Tokens < 1, "launches wait at the empty budget");

        await world.PumpUntilAsync(() => launches.All(l => l.IsCompleted), TimeSpan.FromMinutes(2));
        await Task.WhenAll(launches);

        var at = world.Record.Sent.Select(s => (s.At - start).TotalSeconds).Order().ToList();
        Assert.Equal(60, at.Count);
        output.WriteLine("RunInstances at fake seconds: " + string.Join(", ", at.Select(s => s.ToString("F2", CultureInfo.InvariantCulture))));
        AssertWithinBucket(at, "one target");

        // The budget was the pace, not something slower: 55 refills at 2 per second.
        Assert.InRange(at[^1], 27.0, 27.5 + 2);
    }

    [Fact]
    public async Task Installations_that_wait_take_turns_so_a_small_late_one_is_not_stuck_behind_a_large_one()
    {
        var budget = world.Cluster.Client.GetGrain<ILaunchBudgetGrain>($"fairness/{Guid.NewGuid():N}");
        var granted = new ConcurrentQueue<long>();
        async Task TakeAsync(long installationId)
        {
            while (!await budget.Acquire(installationId, BudgetCluster.Burst, BudgetCluster.PerSecond))
            {
                // The long-poll answered "ask again"; the installation keeps its turn.
            }

            granted.Enqueue(installationId);
        }

        // A matrix build in installation 1 takes the burst and queues 20 more; then installation 2 asks for two.
        var large = Enumerable.Range(0, BudgetCluster.Burst + 20).Select(_ => TakeAsync(1)).ToArray();
        await Eventually.Until(budget.View, v => v.Waiting == 20, "the large installation's 20 wait");
        var small = Enumerable.Range(0, 2).Select(_ => TakeAsync(2)).ToArray();
        await Eventually.Until(budget.View, v => v.WaitingByInstallation.GetValueOrDefault(2) == 2, "the small installation's two wait");
        // The budget answered the burst's callers before the 20 waited; their own continuations may still be running.
        await Eventually.Until(() => Task.FromResult(granted.Count), n => n >= BudgetCluster.Burst, "the burst's grants reach their callers");
        Assert.Equal(Enumerable.Repeat(1L, BudgetCluster.Burst), granted);

        await world.PumpUntilAsync(() => small.All(t => t.IsCompleted), TimeSpan.FromSeconds(5));
        await world.PumpUntilAsync(() => large.All(t => t.IsCompleted), TimeSpan.FromSeconds(30));
        await Task.WhenAll(large.Concat(small));

        // Turns alternate while both wait: the small installation's two are the 2nd and 4th grants after the burst.
        var afterBurst = granted.Skip(BudgetCluster.Burst).ToList();
        Assert.Equal([1L, 2L, 1L, 2L], afterBurst.Take(4));
        Assert.Equal(22, afterBurst.Count);
        Assert.Equal(0, (await budget.View()).Waiting);
    }

    /// <summary>Every window [t_i, t_j] holds at most burst + rate × its length requests (plus one clock step of send latency).</summary>
    internal static void AssertWithinBucket(IReadOnlyList<double> at, string what)
    {
        for (var i = 0; i < at.Count; i++)
        {
            for (var j = i; j < at.Count; j++)
            {
                var allowed = BudgetCluster.Burst + (BudgetCluster.PerSecond * (at[j] - at[i] + 0.05)) + 1e-6;
                Assert.True(j - i + 1 <= allowed, $"{what}: {j - i + 1} RunInstances between {at[i]:F2} s and {at[j]:F2} s; the bucket allows {allowed:F1}");
            }
        }
    }
}

public sealed class ShardedLaunchBudgetTests(TwoTargetBudget world, ITestOutputHelper output) : IClassFixture<TwoTargetBudget>
{
    [Fact]
    public async Task Two_targets_launch_about_twice_as_many_VMs_as_one_in_the_same_fake_time()
    {
        var start = world.Clock.GetUtcNow();
        var launches = Enumerable.Range(0, 60)
            .Select(i => world.Provider(i % 3).LaunchAsync(BudgetCluster.Request(installationId: 1 + (i % 4), start), CancellationToken.None))
            .ToArray();

        // Each target's burst goes out while the clock stands still, so first-call set-up on a silo is not read as fake time.
        await Eventually.Until(() => Task.FromResult(world.Record.Sent.Count), n => n >= 2 * BudgetCluster.Burst, "both targets' bursts are sent");
        await world.PumpUntilAsync(() => launches.All(l => l.IsCompleted), TimeSpan.FromMinutes(2));
        await Task.WhenAll(launches);

        var sent = world.Record.Sent;
        output.WriteLine(string.Join(", ", sent.Select(s => $"{s.Region}@{(s.At - start).TotalSeconds:F2}")));
        Assert.Equal(60, sent.Count);
        foreach (var region in new[] { MotoServer.Region, MotoServer.SecondRegion })
        {
            var at = sent.Where(s => s.Region == region).Select(s => (s.At - start).TotalSeconds).Order().ToList();
            Assert.NotEmpty(at);
            LaunchBudgetTests.AssertWithinBucket(at, region);
        }

        // One target needs 27.5 s of fake time for 60 launches (5 at once, then 2 per second); two share the work.
        var last = sent.Max(s => s.At - start).TotalSeconds;
        Assert.True(last < 27.5 * 0.75, $"two targets took {last:F2} s of fake time for 60 launches; one takes 27.5 s");
    }
}
