using System.Globalization;
using System.Text.Json.Nodes;
using Builtiful.Compute.Ec2;
using Builtiful.Compute.Ec2.Api;
using Builtiful.Launching;
using Builtiful.Machines;
using Builtiful.Providers;
using Builtiful.Testing;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Orleans.TestingHost;

namespace Builtiful.Bench.Ec2;

/// <summary>
/// Three silos in one process, each with its own EC2 provider, launch at once into one moto account and region with
/// EC2's real RunInstances bucket (5 burst, 2 per second): the cluster-wide launch budget (a grain) is the only brake.
/// </summary>
public static class Ec2ClusterScenario
{
    public static async Task<JsonObject?> RunAsync(int launches)
    {
        if (MotoServer.Executable is null)
        {
            return null;
        }

        var moto = new MotoServer();
        await moto.InitializeAsync();
        try
        {
            var log = new Ec2CallLog();
            var settings = new Dictionary<string, string?>
            {
                ["Compute:Provider"] = "Ec2",
                ["Compute:Ec2:Region"] = MotoServer.Region,
                ["Compute:Ec2:ClusterName"] = "builtiful-bench",
                ["Compute:Ec2:ServiceUrl"] = moto.Url.ToString(),
                ["Compute:Ec2:SecurityGroupId"] = moto.SecurityGroupId,
                ["Compute:Ec2:Images:x64"] = moto.ImageId,
                ["Compute:Ec2:InstanceTypes:2vcpu-x64:0"] = "m7i.large",
            };
            for (var i = 0; i < moto.SubnetIds.Count; i++)
            {
                settings[$"Compute:Ec2:SubnetIds:{i}"] = moto.SubnetIds[i];
            }

            var configuration = new ConfigurationBuilder().AddInMemoryCollection(settings).Build();
            var builder = new InProcessTestClusterBuilder(3);
            builder.ConfigureSilo((_, silo) =>
            {
                silo.Services.AddSingleton(new Ec2Transport { HttpClientFactory = log, Credentials = MotoServer.Credentials });
                silo.Services.AddSingleton<ILaunchBudget, ClusterLaunchBudget>();
                silo.Services.AddEc2Compute(configuration);
            });
            var cluster = builder.Build();
            await cluster.DeployAsync();
            try
            {
                var machine = new MachineType("builtiful-2vcpu-ubuntu-2404", 2, 8, CpuArchitecture.X64, "ubuntu-2404", new Dictionary<string, string>());
                var started = log.Now;
                await Task.WhenAll(Enumerable.Range(0, launches).Select(i =>
                {
                    var lease = Guid.NewGuid();
                    var provider = cluster.Silos[i % 3].ServiceProvider.GetRequiredService<IComputeProvider>();
                    return provider.LaunchAsync(new LaunchRequest
                    {
                        LeaseId = lease,
                        InstallationId = 1 + (i % 4),
                        JobId = i,
                        MachineType = machine,
                        ClientToken = $"{lease:N}-1",
                        Claim = new ClaimTicket(new Uri("https://builtiful.example.com/api/runners/claim"), Convert.ToHexStringLower(System.Security.Cryptography.RandomNumberGenerator.GetBytes(32))),
                        ExpiresAt = DateTimeOffset.UnixEpoch.AddYears(60),
                        Tags = new Dictionary<string, string> { [InstanceTags.Lease] = lease.ToString("N") },
                    }, CancellationToken.None);
                }));
                var elapsed = (log.Now - started).TotalSeconds;
                var runs = log.CallsTo("RunInstances");
                var bucketSeconds = (launches - 5) / 2.0;
                return new JsonObject
                {
                    ["silos"] = 3,
                    ["targets"] = 1,
                    ["launches"] = launches,
                    ["run_instances_sent"] = runs.Count,
                    ["throttled"] = runs.Count(r => r.Status == 503 || r.Status == 400),
                    ["seconds"] = Math.Round(elapsed, 2),
                    ["launches_per_s"] = Math.Round(launches / elapsed, 2),
                    ["bucket_ceiling_launches_per_s"] = Math.Round(launches / bucketSeconds, 2),
                    ["note"] = string.Create(CultureInfo.InvariantCulture,
                        $"EC2's RunInstances bucket (5 burst, 2/s) for the whole cluster: {launches} launches cannot finish before {bucketSeconds:F1} s; three per-silo buckets would have sent 3x"),
                };
            }
            finally
            {
                await cluster.DisposeAsync();
            }
        }
        finally
        {
            await moto.DisposeAsync();
        }
    }
}
