using Builtiful.Providers;
using Xunit.Abstractions;
using InstanceState = Builtiful.Providers.InstanceState;

namespace Builtiful.Compute.Ec2.Tests;

/// <summary>An organisation's periodic look at all its VMs: one DescribeInstances for many ids, read back from moto.</summary>
[Collection(MotoCollection.Name)]
public sealed class DescribeManyTests(MotoServer moto, ITestOutputHelper output)
{
    private const string Unknown = "i-0123456789abcdef0";

    [Fact]
    public async Task Many_instances_are_described_in_one_request_each_with_its_own_state()
    {
        using var ec2 = Ec2Harness.Start(moto, output);
        var launched = await Task.WhenAll(Enumerable.Range(0, 3).Select(_ => ec2.Provider.LaunchAsync(ec2.Request(Guid.NewGuid()), CancellationToken.None)));
        await ec2.Provider.TerminateAsync(launched[2].InstanceId, CancellationToken.None);
        var before = ec2.Faults.CallsTo("DescribeInstances").Count;

        var states = await ec2.Provider.DescribeManyAsync([.. launched.Select(l => l.InstanceId), Unknown, "not-an-instance"], CancellationToken.None);

        Assert.Equal(before + 1, ec2.Faults.CallsTo("DescribeInstances").Count);
        Assert.Equal(5, states.Count);
        Assert.All(launched[..2], l => Assert.Contains(states[l.InstanceId], new[] { InstanceState.Pending, InstanceState.Running }));
        Assert.Equal(InstanceState.Terminated, states[launched[2].InstanceId]);
        Assert.Equal(InstanceState.NotFound, states[Unknown]);
        Assert.Equal(InstanceState.NotFound, states["not-an-instance"]);
    }

    [Fact]
    public async Task A_silo_that_never_saw_the_instances_finds_them_in_one_request()
    {
        string[] ids;
        using (var first = Ec2Harness.Start(moto, output))
        {
            var launched = await Task.WhenAll(Enumerable.Range(0, 2).Select(_ => first.Provider.LaunchAsync(first.Request(Guid.NewGuid()), CancellationToken.None)));
            ids = [.. launched.Select(l => l.InstanceId)];
            await first.Provider.TerminateAsync(ids[1], CancellationToken.None);
        }

        using var second = Ec2Harness.Start(moto, output);
        var states = await second.Provider.DescribeManyAsync([ids[0], ids[1], Unknown], CancellationToken.None);

        Assert.Single(second.Faults.CallsTo("DescribeInstances"));
        Assert.Contains(states[ids[0]], new[] { InstanceState.Pending, InstanceState.Running });
        Assert.Equal(InstanceState.Terminated, states[ids[1]]);
        Assert.Equal(InstanceState.NotFound, states[Unknown]);

        // The live one is now known to this silo: terminating it asks no target-wide probe first.
        await second.Provider.TerminateAsync(ids[0], CancellationToken.None);
        Assert.Single(second.Faults.CallsTo("DescribeInstances"));
    }
}
