using System.Globalization;
using Amazon.EC2;
using Builtiful.Compute.Ec2.Api;
using Builtiful.Compute.Ec2.Options;
using Builtiful.Machines;
using Builtiful.Providers;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Xunit.Abstractions;

namespace Builtiful.Compute.Ec2.Tests;

/// <summary>
/// The provider as the host gets it (AddEc2Compute over configuration), pointed at moto through the fault injector,
/// plus a fault-free client for reading back what it did.
/// </summary>
public sealed class Ec2Harness : IDisposable
{
    private readonly ServiceProvider _services;

    private Ec2Harness(MotoServer moto, TimeProvider clock, IDictionary<string, string?> settings, ITestOutputHelper? output)
    {
        Moto = moto;
        Clock = clock;
        Faults = new Ec2FaultInjector(clock);
        Logs = new CapturedLogs(output);
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(settings).Build();
        var services = new ServiceCollection();
        services.AddLogging(logging => logging.SetMinimumLevel(LogLevel.Trace).AddProvider(Logs));
        services.AddKeyedSingleton(BuiltifulClock.Key, clock);
        services.AddSingleton(new Ec2Transport { HttpClientFactory = new FaultInjectingHttpClientFactory(Faults), Credentials = MotoServer.Credentials });
        services.AddEc2Compute(configuration);
        _services = services.BuildServiceProvider(new ServiceProviderOptions { ValidateOnBuild = true, ValidateScopes = true });
        Provider = (Ec2ComputeProvider)_services.GetRequiredService<IComputeProvider>();
        Direct = moto.DirectClient();
    }

    public MotoServer Moto { get; }

    public TimeProvider Clock { get; }

    public Ec2FaultInjector Faults { get; }

    public CapturedLogs Logs { get; }

    public Ec2ComputeProvider Provider { get; }

    public AmazonEC2Client Direct { get; }

    public Ec2ApiBuckets Buckets => _services.GetRequiredService<Ec2RateLimits>().For($"default/{MotoServer.Region}");

    /// <summary>The configuration a user would write to run against moto, plus per-test settings.</summary>
    public static Dictionary<string, string?> Settings(MotoServer moto)
    {
        var settings = new Dictionary<string, string?>
        {
            ["Compute:Provider"] = "Ec2",
            ["Compute:Ec2:Region"] = MotoServer.Region,
            ["Compute:Ec2:ClusterName"] = "ec2-tests",
            ["Compute:Ec2:ServiceUrl"] = moto.Url.ToString(),
            ["Compute:Ec2:SecurityGroupId"] = moto.SecurityGroupId,
            ["Compute:Ec2:Images:x64"] = moto.ImageId,
            ["Compute:Ec2:InstanceTypes:2vcpu-x64:0"] = "m7i.large",
            ["Compute:Ec2:InstanceTypes:2vcpu-x64:1"] = "m6i.large",
            // Fast retries: these tests prove the retry logic, not its pacing (the fake-clock tests do that).
            ["Compute:Ec2:UnknownOutcomeBaseDelay"] = "00:00:00.010",
            ["Compute:Ec2:ThrottleBaseDelay"] = "00:00:00.005",
            ["Compute:Ec2:ThrottleMaxDelay"] = "00:00:00.050",
            ["Compute:Ec2:ApiLimits:RunInstances:Burst"] = "1000",
            ["Compute:Ec2:ApiLimits:RunInstances:PerSecond"] = "1000",
        };
        for (var i = 0; i < moto.SubnetIds.Count; i++)
        {
            settings[$"Compute:Ec2:SubnetIds:{i}"] = moto.SubnetIds[i];
        }

        return settings;
    }

    public static Ec2Harness Start(MotoServer moto, ITestOutputHelper? output = null, TimeProvider? clock = null, Action<Dictionary<string, string?>>? configure = null)
    {
        var settings = Settings(moto);
        configure?.Invoke(settings);
        return new Ec2Harness(moto, clock ?? TimeProvider.System, settings, output);
    }

    public static MachineType TwoVcpu(string label = "builtiful-2vcpu-ubuntu-2404") =>
        new(label, 2, 8, CpuArchitecture.X64, "ubuntu-2404", new Dictionary<string, string>());

    /// <summary>The claim endpoint the tests' launches name; nothing listens there, as no moto instance boots.</summary>
    public static readonly Uri ClaimUrl = new("https://builtiful.example.com/api/runners/claim");

    /// <summary>A request as the lease grain builds it, with a fresh lease id and a claim token shaped like the lease's (HMAC-SHA256, hex).</summary>
    public LaunchRequest Request(Guid? leaseId = null, int attempt = 1, string cluster = "ec2-tests", MachineType? machine = null, Uri? claimUrl = null)
    {
        var lease = leaseId ?? Guid.NewGuid();
        var expiresAt = Clock.GetUtcNow() + TimeSpan.FromHours(6);
        return new LaunchRequest
        {
            LeaseId = lease,
            InstallationId = 957387,
            JobId = 289782451,
            MachineType = machine ?? TwoVcpu(),
            ClientToken = $"{lease:N}-{attempt}",
            Claim = new ClaimTicket(claimUrl ?? ClaimUrl, Convert.ToHexStringLower(System.Security.Cryptography.RandomNumberGenerator.GetBytes(32))),
            ExpiresAt = expiresAt,
            Tags = new Dictionary<string, string>
            {
                [InstanceTags.Lease] = lease.ToString("N"),
                [InstanceTags.Installation] = "957387",
                [InstanceTags.Job] = "289782451",
                [InstanceTags.ExpiresAt] = expiresAt.ToString("O", CultureInfo.InvariantCulture),
                [InstanceTags.Cluster] = cluster,
            },
        };
    }

    public void Dispose()
    {
        Direct.Dispose();
        _services.Dispose();
        Faults.Dispose();
    }
}
