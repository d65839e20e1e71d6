using Builtiful.Compute.Ec2.Launching;
using Builtiful.Providers;
using Xunit.Abstractions;
using InstanceState = Builtiful.Providers.InstanceState;

namespace Builtiful.Compute.Ec2.Tests;

/// <summary>Two accounts-and-regions (two moto regions): launches spread over both, and every call finds the right one.</summary>
[Collection(MotoCollection.Name)]
public sealed class TargetTests(MotoServer moto, ITestOutputHelper output)
{
    [Fact]
    public async Task Launches_spread_over_targets_and_a_fresh_silo_still_finds_describes_and_terminates_them()
    {
        var cluster = "targets-" + Guid.NewGuid().ToString("N")[..8];
        LaunchedInstance[] launched;
        LaunchRequest[] requests;
        using (var first = Start())
        {
            // One lease whose token the plan sends to each target first.
            requests = [LeaseStartingIn(first, 0, cluster), LeaseStartingIn(first, 1, cluster)];
            launched = await Task.WhenAll(requests.Select(r => first.Provider.LaunchAsync(r, CancellationToken.None)));
        }

        using var east = moto.DirectClient(MotoServer.Region);
        using var west = moto.DirectClient(MotoServer.SecondRegion);
        Assert.Contains((await LaunchTests.DescribeOne(east, launched[0].InstanceId)).SubnetId, moto.SubnetIds);
        Assert.Contains((await LaunchTests.DescribeOne(west, launched[1].InstanceId)).SubnetId, moto.SecondSubnetIds);

        // Another silo (or this one restarted) has never seen these instances.
        using var second = Start();
        Assert.Equal(InstanceState.Running, await second.Provider.DescribeAsync(launched[1].InstanceId, CancellationToken.None));
        var listed = await second.Provider.ListByTagAsync(InstanceTags.Cluster, cluster, CancellationToken.None);
        Assert.Equal(launched.Select(l => l.InstanceId).Order(), listed.Select(l => l.InstanceId).Order());
        await Task.WhenAll(launched.Select(l => second.Provider.TerminateAsync(l.InstanceId, CancellationToken.None)));

        Assert.Equal("terminated", (await LaunchTests.DescribeOne(east, launched[0].InstanceId)).State.Name.Value);
        Assert.Equal("terminated", (await LaunchTests.DescribeOne(west, launched[1].InstanceId)).State.Name.Value);
        Assert.Equal(InstanceState.NotFound, await second.Provider.DescribeAsync("i-0123456789abcdef0", CancellationToken.None));
    }

    [Fact]
    public async Task A_target_without_capacity_hands_the_launch_to_the_next_target()
    {
        using var ec2 = Start();
        var request = LeaseStartingIn(ec2, 0, "targets");
        ec2.Faults.Inject("RunInstances", Ec2Fault.NoCapacity(), times: int.MaxValue, when: c => moto.SubnetIds.Contains(c["SubnetId"]!));

        var launched = await ec2.Provider.LaunchAsync(request, CancellationToken.None);

        using var west = moto.DirectClient(MotoServer.SecondRegion);
        Assert.Contains((await LaunchTests.DescribeOne(west, launched.InstanceId)).SubnetId, moto.SecondSubnetIds);
        var runs = ec2.Faults.CallsTo("RunInstances");
        Assert.Equal((2 * moto.SubnetIds.Count) + 1, runs.Count);
        Assert.Equal(runs.Count, runs.Select(r => r["ClientToken"]).Distinct().Count());
    }

    private Ec2Harness Start() => Ec2Harness.Start(moto, output, configure: s =>
    {
        s["Compute:Ec2:Name"] = "east";
        s["Compute:Ec2:Targets:0:Name"] = "west";
        s["Compute:Ec2:Targets:0:Region"] = MotoServer.SecondRegion;
        s["Compute:Ec2:Targets:0:ServiceUrl"] = moto.Url.ToString();
        s["Compute:Ec2:Targets:0:SecurityGroupId"] = moto.SecondSecurityGroupId;
        s["Compute:Ec2:Targets:0:Images:x64"] = moto.ImageId;
        for (var i = 0; i < moto.SecondSubnetIds.Count; i++)
        {
            s[$"Compute:Ec2:Targets:0:SubnetIds:{i}"] = moto.SecondSubnetIds[i];
        }
    });

    /// <summary>A request whose token the plan sends to target <paramref name="target"/> first.</summary>
    private static LaunchRequest LeaseStartingIn(Ec2Harness ec2, int target, string cluster)
    {
        while (true)
        {
            var request = ec2.Request(cluster: cluster);
            if (ClientTokens.Spread(request.ClientToken, 2) == target)
            {
                return request;
            }
        }
    }
}
