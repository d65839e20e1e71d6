using System.Text;
using Amazon.EC2;
using Amazon.EC2.Model;
using Builtiful.Compute.Ec2.Launching;
using Builtiful.Providers;
using Xunit.Abstractions;
using InstanceState = Builtiful.Providers.InstanceState;

namespace Builtiful.Compute.Ec2.Tests;

/// <summary>The real SDK against moto_server: every launch parameter read back from EC2's side.</summary>
[Collection(MotoCollection.Name)]
public sealed class LaunchTests(MotoServer moto, ITestOutputHelper output)
{
    [Fact]
    public async Task A_pool_vms_user_data_names_its_pool_and_holds_no_runner_config()
    {
        using var ec2 = Ec2Harness.Start(moto, output);
        var request = ec2.Request();
        request = request with { Claim = request.Claim with { Pool = "linux" } };

        var launched = await ec2.Provider.LaunchAsync(request, CancellationToken.None);

        var userData = await ec2.Direct.DescribeInstanceAttributeAsync(new DescribeInstanceAttributeRequest { InstanceId = launched.InstanceId, Attribute = InstanceAttributeName.UserData });
        var script = Encoding.UTF8.GetString(Convert.FromBase64String(userData.InstanceAttribute.UserData));
        Assert.Contains("pool='linux'", script, StringComparison.Ordinal);
        Assert.Contains($"deadline={request.ExpiresAt.ToUnixTimeSeconds()}", script, StringComparison.Ordinal);
        Assert.Contains("    202)", script, StringComparison.Ordinal);
        Assert.Contains("shutdown -c", script, StringComparison.Ordinal);
        Assert.DoesNotContain("--jitconfig", script, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotMatch("[A-Za-z0-9+/=]{100,}", script);
    }

    [Fact]
    public async Task Launch_sets_every_isolation_and_lifetime_parameter_and_reads_back()
    {
        using var ec2 = Ec2Harness.Start(moto, output);
        var request = ec2.Request();

        var launched = await ec2.Provider.LaunchAsync(request, CancellationToken.None);

        var instance = await DescribeOne(ec2.Direct, launched.InstanceId);
        Assert.Equal("required", instance.MetadataOptions.HttpTokens.Value);
        Assert.Equal(1, instance.MetadataOptions.HttpPutResponseHopLimit);
        Assert.Equal("enabled", instance.MetadataOptions.HttpEndpoint.Value);
        Assert.Null(instance.IamInstanceProfile);
        Assert.Equal([moto.SecurityGroupId], (instance.SecurityGroups ?? []).Select(g => g.GroupId));
        Assert.Contains(instance.SubnetId, moto.SubnetIds);
        Assert.Equal(moto.ImageId, instance.ImageId);
        Assert.Equal("m7i.large", instance.InstanceType.Value);
        Assert.Null(instance.InstanceLifecycle);

        var tags = (instance.Tags ?? []).ToDictionary(t => t.Key, t => t.Value);
        foreach (var (key, value) in request.Tags)
        {
            Assert.Equal(value, tags[key]);
        }

        Assert.Equal(request.ClientToken, tags[Ec2Launcher.LaunchTag]);
        Assert.Equal(request.MachineType.Label, tags[Ec2Launcher.MachineTypeTag]);
        Assert.Equal(request.RunnerName, tags["Name"]);

        var shutdown = await ec2.Direct.DescribeInstanceAttributeAsync(new DescribeInstanceAttributeRequest
        {
            InstanceId = launched.InstanceId,
            Attribute = InstanceAttributeName.InstanceInitiatedShutdownBehavior,
        });
        Assert.Equal("terminate", shutdown.InstanceAttribute.InstanceInitiatedShutdownBehavior);

        var userDataAttribute = await ec2.Direct.DescribeInstanceAttributeAsync(new DescribeInstanceAttributeRequest
        {
            InstanceId = launched.InstanceId,
            Attribute = InstanceAttributeName.UserData,
        });
        // What anyone with ec2:DescribeInstanceAttribute (AWS's read-only policies) reads: how to claim, no runner config.
        var script = Encoding.UTF8.GetString(Convert.FromBase64String(userDataAttribute.InstanceAttribute.UserData));
        Assert.StartsWith("#!/bin/bash\n", script, StringComparison.Ordinal);
        var watchdog = script.IndexOf("shutdown -P \"+$minutes\"", StringComparison.Ordinal);
        var claim = script.IndexOf("--data-binary @-", StringComparison.Ordinal);
        var runner = script.IndexOf("-- ./run.sh", StringComparison.Ordinal);
        Assert.True(watchdog > 0 && claim > watchdog && runner > claim, "the watchdog is armed before the claim, the claim before the runner starts");
        Assert.Contains($"deadline={request.ExpiresAt.ToUnixTimeSeconds()}", script, StringComparison.Ordinal);
        Assert.Contains($"claim_url='{Ec2Harness.ClaimUrl.AbsoluteUri}'", script, StringComparison.Ordinal);
        Assert.Contains($"lease_id='{request.LeaseId:D}'", script, StringComparison.Ordinal);
        Assert.Contains($"claim_token='{request.Claim.Token}'", script, StringComparison.Ordinal);
        Assert.DoesNotContain("--jitconfig", script, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain("--token", script, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotMatch("[A-Za-z0-9+/=]{100,}", script); // a JIT config is kilobytes of base64; the claim token is 64 hex characters

        var volumes = await ec2.Direct.DescribeVolumesAsync(new DescribeVolumesRequest
        {
            Filters = [new Filter("attachment.instance-id", [launched.InstanceId])],
        });
        var root = Assert.Single(volumes.Volumes);
        Assert.Equal(40, root.Size);
        Assert.True(root.Encrypted);
        Assert.Equal("gp3", root.VolumeType.Value);
        var rootMapping = Assert.Single(instance.BlockDeviceMappings);
        Assert.Equal("/dev/sda1", rootMapping.DeviceName);
        Assert.True(rootMapping.Ebs.DeleteOnTermination);
        var volumeTags = (root.Tags ?? []).ToDictionary(t => t.Key, t => t.Value);
        Assert.Equal(request.LeaseId.ToString("N"), volumeTags[InstanceTags.Lease]);

        var run = Assert.Single(ec2.Faults.CallsTo("RunInstances"));
        Assert.Equal(request.ClientToken, run["ClientToken"]);
        Assert.Equal("terminate", run["InstanceInitiatedShutdownBehavior"]);
        Assert.Null(run["IamInstanceProfile.Arn"]);

        AssertNeverLogged(ec2, request.Claim.Token);
    }

    [Fact]
    public async Task Describe_terminate_and_confirm_in_the_happy_path_cost_one_call_each()
    {
        using var ec2 = Ec2Harness.Start(moto, output);
        var request = ec2.Request();

        var launched = await ec2.Provider.LaunchAsync(request, CancellationToken.None);
        var booted = await ec2.Provider.DescribeAsync(launched.InstanceId, CancellationToken.None);
        await ec2.Provider.TerminateAsync(launched.InstanceId, CancellationToken.None);
        var after = await ec2.Provider.DescribeAsync(launched.InstanceId, CancellationToken.None);

        Assert.True(booted is InstanceState.Pending or InstanceState.Running, $"booted reads {booted}");
        Assert.True(after is InstanceState.ShuttingDown or InstanceState.Terminated, $"after termination reads {after}");
        Assert.Equal("terminated", (await DescribeOne(ec2.Direct, launched.InstanceId)).State.Name.Value);

        var byAction = ec2.Faults.Calls.GroupBy(c => c.Action).ToDictionary(g => g.Key, g => g.Count());
        output.WriteLine("EC2 calls for launch + describe + terminate + describe: " + string.Join(", ", byAction.Select(kv => $"{kv.Key}={kv.Value}")));
        Assert.Equal(1, byAction["RunInstances"]);
        Assert.Equal(1, byAction["TerminateInstances"]);
        Assert.Equal(2, byAction["DescribeInstances"]);
        Assert.Equal(1, byAction["DescribeSubnets"]);
    }

    [Fact]
    public async Task Terminate_is_idempotent_and_an_unknown_or_malformed_id_is_already_gone()
    {
        using var ec2 = Ec2Harness.Start(moto, output);
        var launched = await ec2.Provider.LaunchAsync(ec2.Request(), CancellationToken.None);

        await ec2.Provider.TerminateAsync(launched.InstanceId, CancellationToken.None);
        await ec2.Provider.TerminateAsync(launched.InstanceId, CancellationToken.None);
        await ec2.Provider.TerminateAsync("i-0123456789abcdef0", CancellationToken.None);
        await ec2.Provider.TerminateAsync("not-an-instance", CancellationToken.None);

        Assert.Equal(InstanceState.NotFound, await ec2.Provider.DescribeAsync("i-0123456789abcdef0", CancellationToken.None));
        Assert.Equal(InstanceState.NotFound, await ec2.Provider.DescribeAsync("not-an-instance", CancellationToken.None));
        Assert.Equal(InstanceState.Terminated, await ec2.Provider.DescribeAsync(launched.InstanceId, CancellationToken.None));
    }

    [Fact]
    public async Task List_by_tag_follows_next_tokens_across_pages()
    {
        using var ec2 = Ec2Harness.Start(moto, output, configure: s => s["Compute:Ec2:ListPageSize"] = "5");
        var cluster = "paging-" + Guid.NewGuid().ToString("N")[..8];
        var launched = await Task.WhenAll(Enumerable.Range(0, 7).Select(_ => ec2.Provider.LaunchAsync(ec2.Request(cluster: cluster), CancellationToken.None)));
        await ec2.Provider.TerminateAsync(launched[0].InstanceId, CancellationToken.None);

        var listed = await ec2.Provider.ListByTagAsync(InstanceTags.Cluster, cluster, CancellationToken.None);

        Assert.Equal(launched.Select(l => l.InstanceId).Order(), listed.Select(l => l.InstanceId).Order());
        Assert.Equal(InstanceState.Terminated, listed.Single(l => l.InstanceId == launched[0].InstanceId).State);
        Assert.All(listed, l => Assert.Equal(cluster, l.Tags[InstanceTags.Cluster]));
        var pages = ec2.Faults.CallsTo("DescribeInstances").Where(c => c.Filter($"tag:{InstanceTags.Cluster}").Contains(cluster)).ToList();
        Assert.Equal(2, pages.Count);
        Assert.All(pages, p => Assert.Equal("5", p["MaxResults"]));
        Assert.Null(pages[0]["NextToken"]);
        Assert.NotNull(pages[1]["NextToken"]);
        Assert.Empty(await ec2.Provider.ListByTagAsync(InstanceTags.Cluster, "no-such-cluster", CancellationToken.None));
    }

    [Fact]
    public async Task Spot_is_asked_for_first_where_configured()
    {
        var machine = Ec2Harness.TwoVcpu("builtiful-2vcpu-ubuntu-2204");
        using var ec2 = Ec2Harness.Start(moto, output, configure: s => s[$"Compute:Ec2:PurchaseByMachineType:{machine.Label}"] = "SpotThenOnDemand");

        var launched = await ec2.Provider.LaunchAsync(ec2.Request(machine: machine), CancellationToken.None);

        var run = Assert.Single(ec2.Faults.CallsTo("RunInstances"));
        Assert.Equal("spot", run["InstanceMarketOptions.MarketType"]);
        Assert.Equal("one-time", run["InstanceMarketOptions.SpotOptions.SpotInstanceType"]);
        Assert.Equal("terminate", run["InstanceMarketOptions.SpotOptions.InstanceInterruptionBehavior"]);
        Assert.Equal("spot", (await DescribeOne(ec2.Direct, launched.InstanceId)).InstanceLifecycle?.Value);
    }

    [Fact]
    public async Task An_instance_profile_is_attached_only_when_configured()
    {
        const string profile = "arn:aws:iam::123456789012:instance-profile/builtiful-runner";
        using var ec2 = Ec2Harness.Start(moto, output, configure: s => s["Compute:Ec2:InstanceProfileArn"] = profile);

        // moto checks that the profile exists in its IAM, which these tests never create: the request itself is what matters.
        await Assert.ThrowsAnyAsync<Exception>(() => ec2.Provider.LaunchAsync(ec2.Request(), CancellationToken.None));

        Assert.Equal(profile, ec2.Faults.CallsTo("RunInstances")[0]["IamInstanceProfile.Arn"]);
    }

    [Fact]
    public async Task User_data_over_16_KB_is_refused_before_any_call_with_a_clear_message()
    {
        using var ec2 = Ec2Harness.Start(moto, output);
        var request = ec2.Request(claimUrl: new Uri("https://builtiful.example.com/api/runners/claim?padding=" + new string('a', 17_000)));

        var refused = await Assert.ThrowsAsync<Ec2LaunchException>(() => ec2.Provider.LaunchAsync(request, CancellationToken.None));

        Assert.Contains("over EC2's 16384-byte limit", refused.Message, StringComparison.Ordinal);
        Assert.DoesNotContain(request.Claim.Token, refused.Message, StringComparison.Ordinal);
        Assert.Empty(ec2.Faults.CallsTo("RunInstances"));
    }

    [Fact]
    public async Task A_size_without_instance_types_or_an_image_fails_with_the_key_to_set()
    {
        using var ec2 = Ec2Harness.Start(moto, output, configure: s => s.Remove("Compute:Ec2:Images:x64"));

        var noImage = await Assert.ThrowsAsync<Ec2LaunchException>(() => ec2.Provider.LaunchAsync(ec2.Request(), CancellationToken.None));
        var noTypes = await Assert.ThrowsAsync<Ec2LaunchException>(() => ec2.Provider.LaunchAsync(
            ec2.Request(machine: new Machines.MachineType("builtiful-3vcpu-ubuntu-2404", 3, 12, Machines.CpuArchitecture.X64, "ubuntu-2404", new Dictionary<string, string> { ["Ec2"] = moto.ImageId })),
            CancellationToken.None));

        Assert.Contains("Compute:Ec2:Images", noImage.Message, StringComparison.Ordinal);
        Assert.Contains("Compute:Ec2:InstanceTypes:3vcpu-x64", noTypes.Message, StringComparison.Ordinal);
        Assert.Empty(ec2.Faults.CallsTo("RunInstances"));
    }

    internal static async Task<Instance> DescribeOne(IAmazonEC2 ec2, string instanceId)
    {
        var response = await ec2.DescribeInstancesAsync(new DescribeInstancesRequest { InstanceIds = [instanceId] });
        return Assert.Single(response.Reservations.SelectMany(r => r.Instances));
    }

    internal static void AssertNeverLogged(Ec2Harness ec2, string secret)
    {
        Assert.NotEmpty(ec2.Logs.Lines);
        Assert.DoesNotContain(ec2.Logs.Lines, line => line.Contains(secret, StringComparison.Ordinal));
    }
}
