using Builtiful.Compute.Ec2.Launching;
using Builtiful.Compute.Ec2.Options;
using Builtiful.Machines;
using Builtiful.Providers;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace Builtiful.Compute.Ec2.Tests;

public sealed class OptionsTests
{
    [Fact]
    public void A_complete_section_binds_every_key()
    {
        var options = Bind(new Dictionary<string, string?>
        {
            ["Compute:Ec2:Region"] = "eu-west-1",
            ["Compute:Ec2:ClusterName"] = "builtiful-production",
            ["Compute:Ec2:ServiceUrl"] = "http://127.0.0.1:5000",
            ["Compute:Ec2:SubnetIds:0"] = "subnet-0123456789abcdef0",
            ["Compute:Ec2:SubnetIds:1"] = "subnet-0123456789abcdef1",
            ["Compute:Ec2:SecurityGroupId"] = "sg-0123456789abcdef0",
            ["Compute:Ec2:Images:x64"] = "ami-0123456789abcdef0",
            ["Compute:Ec2:Images:ubuntu-2204-arm64"] = "ami-0123456789abcdef1",
            ["Compute:Ec2:InstanceTypes:4vcpu-x64:0"] = "c7i.xlarge",
            ["Compute:Ec2:InstanceTypes:4vcpu-x64:1"] = "c6i.xlarge",
            ["Compute:Ec2:Purchase"] = "SpotThenOnDemand",
            ["Compute:Ec2:PurchaseByMachineType:builtiful-2vcpu-ubuntu-2404"] = "OnDemand",
            ["Compute:Ec2:RootVolume:SizeGiB"] = "80",
            ["Compute:Ec2:ApiLimits:RunInstances:Burst"] = "10",
            ["Compute:Ec2:Targets:0:Name"] = "second-account",
            ["Compute:Ec2:Targets:0:Region"] = "us-west-2",
            ["Compute:Ec2:Targets:0:Profile"] = "builtiful-second",
            ["Compute:Ec2:Targets:0:SubnetIds:0"] = "subnet-0123456789abcdef2",
            ["Compute:Ec2:Targets:0:SecurityGroupId"] = "sg-0123456789abcdef1",
        });

        Assert.Equal("eu-west-1", options.Region);
        Assert.Equal("builtiful-production", options.ClusterName);
        Assert.False(options.AllowEphemeralState);
        Assert.Equal(["c7i.xlarge", "c6i.xlarge"], options.InstanceTypes["4vcpu-x64"]);
        Assert.Equal(Ec2Purchase.SpotThenOnDemand, options.Purchase);
        Assert.Equal(Ec2Purchase.OnDemand, options.PurchaseByMachineType["builtiful-2vcpu-ubuntu-2404"]);
        Assert.Equal(80, options.RootVolume.SizeGiB);
        Assert.Equal(10, options.ApiLimits.RunInstances.Burst);
        Assert.Equal(2, options.ApiLimits.RunInstances.PerSecond);
        var targets = options.AllTargets();
        Assert.Equal(["eu-west-1", "second-account"], targets.Select(t => t.DisplayName));
        Assert.Equal("builtiful-second/us-west-2", targets[1].RateLimitKey);
        Assert.Equal("default/eu-west-1", targets[0].RateLimitKey);
    }

    [Fact]
    public void A_broken_section_is_refused_with_every_problem_and_its_key()
    {
        var refused = Assert.Throws<OptionsValidationException>(() => Bind(new Dictionary<string, string?>
        {
            ["Compute:Ec2:Region"] = "",
            ["Compute:Ec2:ServiceUrl"] = "ftp://moto",
            ["Compute:Ec2:SubnetIds:0"] = "subnet-nothex",
            ["Compute:Ec2:SecurityGroupId"] = "",
            ["Compute:Ec2:Images:x64"] = "image-1",
            ["Compute:Ec2:InstanceTypes:4cores:0"] = "c7i.xlarge",
            ["Compute:Ec2:RootVolume:SizeGiB"] = "2",
            ["Compute:Ec2:RootVolume:VolumeType"] = "st1",
            ["Compute:Ec2:Runner:User"] = "root; rm -rf /",
            ["Compute:Ec2:ApiLimits:RunInstances:PerSecond"] = "0",
            ["Compute:Ec2:ListPageSize"] = "2000",
            ["Compute:Ec2:InstanceProfileArn"] = "builtiful-runner",
            ["Compute:Ec2:Targets:0:Region"] = "us-west-2",
        }));

        var message = string.Join("\n", refused.Failures);
        foreach (var key in new[]
        {
            "Compute:Ec2:ClusterName", "Compute:Ec2:Region", "Compute:Ec2:ServiceUrl", "Compute:Ec2:SubnetIds:0", "Compute:Ec2:SecurityGroupId",
            "Compute:Ec2:Images:x64", "Compute:Ec2:InstanceTypes:4cores", "Compute:Ec2:RootVolume:SizeGiB",
            "Compute:Ec2:RootVolume:VolumeType", "Compute:Ec2:Runner:User", "Compute:Ec2:ApiLimits:RunInstances",
            "Compute:Ec2:ListPageSize", "Compute:Ec2:InstanceProfileArn", "Compute:Ec2:Targets:0:SubnetIds",
            "Compute:Ec2:Targets:0:SecurityGroupId",
        })
        {
            Assert.Contains(key, message, StringComparison.Ordinal);
        }

        Assert.Contains("Compute:Ec2:RootVolume:SizeGiB is 2; use 8 to 16384", message, StringComparison.Ordinal);
        Assert.Contains("Compute:Ec2:RootVolume:VolumeType must be gp3, gp2, io1 or io2", message, StringComparison.Ordinal);
        Assert.Contains("Compute:Ec2:ListPageSize is 2000; use 5 to 1000", message, StringComparison.Ordinal);
    }

    [Fact]
    public void Each_refused_setting_is_named_by_its_key_with_the_value_found_and_the_values_accepted()
    {
        var settings = Valid();
        settings["Compute:Ec2:RootVolume:DeviceName"] = "sda1";
        settings["Compute:Ec2:RootVolume:VolumeType"] = "gp2";
        settings["Compute:Ec2:RootVolume:Iops"] = "3000";
        settings["Compute:Ec2:RootVolume:ThroughputMiBps"] = "125";
        settings["Compute:Ec2:Runner:Directory"] = "opt/runner";
        settings["Compute:Ec2:ApiLimits:Describe:Burst"] = "0";
        settings["Compute:Ec2:ApiLimits:TerminateInstances:PerSecond"] = "-1";
        settings["Compute:Ec2:ThrottleRetries"] = "21";
        settings["Compute:Ec2:UnknownOutcomeRetries"] = "-1";
        settings["Compute:Ec2:ThrottleBaseDelay"] = "00:00:02";
        settings["Compute:Ec2:ThrottleMaxDelay"] = "00:00:01";
        settings["Compute:Ec2:UnknownOutcomeBaseDelay"] = "00:00:00";
        settings["Compute:Ec2:RequestTimeout"] = "-00:00:01";
        settings["Compute:Ec2:VisibilityGrace"] = "-00:05:00";
        settings["Compute:Ec2:CapacityShortageMemory"] = "-00:00:01";

        var refused = Assert.Throws<OptionsValidationException>(() => Bind(settings));

        var message = string.Join("\n", refused.Failures);
        foreach (var expected in new[]
        {
            "Compute:Ec2:RootVolume:DeviceName must be the image's root device, such as /dev/sda1",
            "Compute:Ec2:RootVolume:Iops cannot be set for gp2 volumes",
            "Compute:Ec2:RootVolume:ThroughputMiBps applies to gp3 volumes only",
            "Compute:Ec2:Runner:Directory must be an absolute path",
            "Compute:Ec2:ApiLimits:Describe:Burst is 0; use at least 1",
            "Compute:Ec2:ApiLimits:TerminateInstances:PerSecond is -1; use a positive number",
            "Compute:Ec2:ThrottleRetries is 21; use 0 to 20",
            "Compute:Ec2:UnknownOutcomeRetries is -1; use 0 to 20",
            "Compute:Ec2:ThrottleMaxDelay is 00:00:01; it caps the backoff, so use at least Compute:Ec2:ThrottleBaseDelay (00:00:02)",
            "Compute:Ec2:UnknownOutcomeBaseDelay is 00:00:00; use a positive time span",
            "Compute:Ec2:RequestTimeout is -00:00:01; use a positive time span",
            "Compute:Ec2:VisibilityGrace is -00:05:00; use zero or a positive time span",
            "Compute:Ec2:CapacityShortageMemory is -00:00:01; use zero or a positive time span",
        })
        {
            Assert.Contains(expected, message, StringComparison.Ordinal);
        }

        Assert.Equal(13, refused.Failures.Count());
    }

    [Fact]
    public void Registration_offers_the_provider_as_a_singleton_named_Ec2()
    {
        var registrations = Services(Valid());
        // Static keys, as in a test or against an emulator; production uses the SDK's default credential chain.
        registrations.AddSingleton(new Api.Ec2Transport { Credentials = MotoServer.Credentials });
        using var services = registrations.BuildServiceProvider(new ServiceProviderOptions { ValidateOnBuild = true });

        var provider = services.GetRequiredService<IComputeProvider>();

        Assert.Equal("Ec2", provider.Name);
        Assert.Same(provider, services.GetRequiredService<IComputeProvider>());
        Assert.Same(provider, services.GetRequiredService<Ec2ComputeProvider>());
    }

    [Fact]
    public void Without_credentials_anywhere_in_the_default_chain_the_provider_refuses_to_start_and_says_where_to_put_them()
    {
        // The SDK's chain reads the environment: empty it of every source for the length of this test.
        string[] cleared = ["AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE", "AWS_DEFAULT_PROFILE",
            "AWS_WEB_IDENTITY_TOKEN_FILE", "AWS_ROLE_ARN", "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "AWS_CONTAINER_CREDENTIALS_FULL_URI"];
        var missing = Path.Combine(Path.GetTempPath(), $"builtiful-no-aws-{Guid.NewGuid():N}");
        var overrides = cleared.Select(name => (name, (string?)null))
            .Append(("AWS_SHARED_CREDENTIALS_FILE", Path.Combine(missing, "credentials")))
            .Append(("AWS_CONFIG_FILE", Path.Combine(missing, "config")))
            .Append(("AWS_EC2_METADATA_DISABLED", "true"))
            .ToList();
        var saved = overrides.Select(o => (o.Item1, Environment.GetEnvironmentVariable(o.Item1))).ToList();
        try
        {
            foreach (var (name, value) in overrides)
            {
                Environment.SetEnvironmentVariable(name, value);
            }

            using var services = Services(Valid()).BuildServiceProvider();

            var error = Assert.Throws<InvalidOperationException>(() => services.GetRequiredService<IComputeProvider>());

            Assert.Contains("Compute:Ec2 found no AWS credentials for us-east-1", error.Message, StringComparison.Ordinal);
            Assert.Contains("AWS_ACCESS_KEY_ID", error.Message, StringComparison.Ordinal);
            Assert.Contains("Compute:Ec2:Profile", error.Message, StringComparison.Ordinal);
        }
        finally
        {
            foreach (var (name, value) in saved)
            {
                Environment.SetEnvironmentVariable(name, value);
            }
        }
    }

    [Theory]
    [InlineData(2, 8, CpuArchitecture.X64, "m7i.large")]
    [InlineData(4, 8, CpuArchitecture.X64, "c7i.xlarge")]
    [InlineData(16, 128, CpuArchitecture.X64, "r7i.4xlarge")]
    [InlineData(8, 32, CpuArchitecture.Arm64, "m7g.2xlarge")]
    [InlineData(32, 128, CpuArchitecture.Arm64, "m7g.8xlarge")]
    public void Sizes_without_configured_types_get_current_families_matching_their_memory(int vcpu, int memory, CpuArchitecture architecture, string first)
    {
        var machine = new MachineType("builtiful-x", vcpu, memory, architecture, "ubuntu-2404", new Dictionary<string, string>());

        var types = InstanceTypeChoice.For(machine, new Ec2Options());

        Assert.Equal(first, types[0]);
        Assert.True(types.Count >= 2, "a fallback type exists when the first has no capacity");
    }

    [Fact]
    public void Candidate_tokens_are_new_per_candidate_stable_per_attempt_and_within_64_characters()
    {
        var token = $"{Guid.NewGuid():N}-12";
        var longToken = new string('x', 64);

        Assert.Equal(token, ClientTokens.ForCandidate(token, 0));
        Assert.Equal(ClientTokens.ForCandidate(token, 3), ClientTokens.ForCandidate(token, 3));
        Assert.NotEqual(ClientTokens.ForCandidate(token, 3), ClientTokens.ForCandidate(token, 4));
        Assert.Equal(20, Enumerable.Range(0, 20).Select(i => ClientTokens.ForCandidate(longToken, i)).Distinct().Count());
        Assert.All(Enumerable.Range(0, 200), i => Assert.InRange(ClientTokens.ForCandidate(longToken, i).Length, 1, 64));
        Assert.NotEqual(ClientTokens.ForCandidate(longToken, 1), ClientTokens.ForCandidate(longToken[..63] + "y", 1));
    }

    [Theory]
    [InlineData(null, "Compute:Ec2:ClusterName is not set")]
    [InlineData("  ", "Compute:Ec2:ClusterName is not set")]
    [InlineData("prod cluster", "Compute:Ec2:ClusterName is 'prod cluster'")]
    public void EC2_has_no_default_cluster_name(string? clusterName, string expected)
    {
        var settings = Valid();
        settings["Compute:Ec2:ClusterName"] = clusterName;

        var refused = Assert.Throws<OptionsValidationException>(() => Bind(settings));

        Assert.Contains(refused.Failures, f => f.StartsWith(expected, StringComparison.Ordinal));
    }

    [Fact]
    public void In_memory_state_needs_the_named_override_and_durable_state_does_not()
    {
        var settings = Valid();
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(settings).Build();
        Assert.Contains(Ec2HostRequirements.Problems(configuration, durableState: false), p => p.Contains("Compute:Ec2:AllowEphemeralState=true", StringComparison.Ordinal));
        Assert.Empty(Ec2HostRequirements.Problems(configuration, durableState: true));

        settings["Compute:Ec2:AllowEphemeralState"] = "true";
        Assert.Empty(Ec2HostRequirements.Problems(new ConfigurationBuilder().AddInMemoryCollection(settings).Build(), durableState: false));
    }

    internal static Dictionary<string, string?> Valid() => new()
    {
        ["Compute:Ec2:ClusterName"] = "builtiful-tests",
        ["Compute:Ec2:Region"] = "us-east-1",
        ["Compute:Ec2:SubnetIds:0"] = "subnet-0123456789abcdef0",
        ["Compute:Ec2:SecurityGroupId"] = "sg-0123456789abcdef0",
    };

    private static Ec2Options Bind(Dictionary<string, string?> settings)
    {
        using var services = Services(settings).BuildServiceProvider();
        return services.GetRequiredService<IOptions<Ec2Options>>().Value;
    }

    private static ServiceCollection Services(Dictionary<string, string?> settings)
    {
        var services = new ServiceCollection();
        services.AddLogging();
        services.AddEc2Compute(new ConfigurationBuilder().AddInMemoryCollection(settings).Build());
        return services;
    }
}
