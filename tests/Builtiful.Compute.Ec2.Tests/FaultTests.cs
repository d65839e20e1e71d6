using System.Net;
using Builtiful.Compute.Ec2.Launching;
using Builtiful.Providers;
using Xunit.Abstractions;
using InstanceState = Builtiful.Providers.InstanceState;

namespace Builtiful.Compute.Ec2.Tests;

/// <summary>EC2's failure modes that moto does not model, injected between the real SDK and moto.</summary>
[Collection(MotoCollection.Name)]
public sealed class FaultTests(MotoServer moto, ITestOutputHelper output)
{
    [Fact]
    public async Task No_capacity_in_one_zone_moves_to_the_next_zone_with_a_new_token()
    {
        using var ec2 = Ec2Harness.Start(moto, output);
        ec2.Faults.Inject("RunInstances", Ec2Fault.NoCapacity("m7i.large"));
        var request = ec2.Request();

        var launched = await ec2.Provider.LaunchAsync(request, CancellationToken.None);

        var runs = ec2.Faults.CallsTo("RunInstances");
        Assert.Equal(2, runs.Count);
        Assert.Equal(request.ClientToken, runs[0]["ClientToken"]);
        Assert.Equal(ClientTokens.ForCandidate(request.ClientToken, 1), runs[1]["ClientToken"]);
        Assert.Equal("m7i.large", runs[1]["InstanceType"]);
        Assert.NotEqual(runs[0]["SubnetId"], runs[1]["SubnetId"]);
        var instance = await LaunchTests.DescribeOne(ec2.Direct, launched.InstanceId);
        Assert.Equal(runs[1]["SubnetId"], instance.SubnetId);
        Assert.Single(await Live(ec2, request));
    }

    [Fact]
    public async Task No_capacity_for_a_type_in_every_zone_moves_to_the_next_type()
    {
        using var ec2 = Ec2Harness.Start(moto, output);
        ec2.Faults.Inject("RunInstances", Ec2Fault.NoCapacity("m7i.large"), times: int.MaxValue, when: c => c["InstanceType"] == "m7i.large");
        var request = ec2.Request();

        var launched = await ec2.Provider.LaunchAsync(request, CancellationToken.None);

        var runs = ec2.Faults.CallsTo("RunInstances");
        Assert.Equal(moto.SubnetIds.Count + 1, runs.Count);
        Assert.Equal(runs.Count, runs.Select(r => r["ClientToken"]).Distinct().Count());
        Assert.Equal(moto.SubnetIds.Order(), runs.Take(moto.SubnetIds.Count).Select(r => r["SubnetId"]!).Order());
        Assert.Equal("m6i.large", runs[^1]["InstanceType"]);
        Assert.Equal("m6i.large", (await LaunchTests.DescribeOne(ec2.Direct, launched.InstanceId)).InstanceType.Value);
    }

    [Fact]
    public async Task When_nothing_has_capacity_the_message_names_every_type_zone_and_reason()
    {
        var machine = Ec2Harness.TwoVcpu("builtiful-2vcpu-ubuntu-2204");
        using var ec2 = Ec2Harness.Start(moto, output, configure: s => s[$"Compute:Ec2:PurchaseByMachineType:{machine.Label}"] = "SpotThenOnDemand");
        ec2.Faults.Inject("RunInstances", new Ec2Fault.Error(HttpStatusCode.BadRequest, "MaxSpotInstanceCountExceeded", "Max spot instance count exceeded"), when: c => c["InstanceMarketOptions.MarketType"] == "spot");
        ec2.Faults.Inject("RunInstances", Ec2Fault.NoCapacity(), times: int.MaxValue);
        var request = ec2.Request(machine: machine);

        var failed = await Assert.ThrowsAsync<Ec2LaunchException>(() => ec2.Provider.LaunchAsync(request, CancellationToken.None));

        output.WriteLine(failed.Message);
        var runs = ec2.Faults.CallsTo("RunInstances");
        // The spot quota ends spot at once; on-demand then tries both types in all three zones.
        Assert.Equal(1 + (2 * moto.SubnetIds.Count), runs.Count);
        Assert.Equal("spot", runs[0]["InstanceMarketOptions.MarketType"]);
        Assert.All(runs.Skip(1), r => Assert.Null(r["InstanceMarketOptions.MarketType"]));
        Assert.StartsWith($"No capacity for {machine.Label}: MaxSpotInstanceCountExceeded for spot m7i.large in ", failed.Message, StringComparison.Ordinal);
        foreach (var zone in MotoServer.Zones)
        {
            Assert.Contains($"InsufficientInstanceCapacity for on-demand m6i.large in {zone} (subnet-", failed.Message, StringComparison.Ordinal);
            Assert.Contains($"InsufficientInstanceCapacity for on-demand m7i.large in {zone} (subnet-", failed.Message, StringComparison.Ordinal);
        }

        Assert.DoesNotContain(request.Claim.Token, failed.Message, StringComparison.Ordinal);
        Assert.Empty(await Live(ec2, request));
    }

    [Fact]
    public async Task Spot_without_capacity_falls_back_to_on_demand()
    {
        var machine = Ec2Harness.TwoVcpu("builtiful-2vcpu-ubuntu-2204");
        using var ec2 = Ec2Harness.Start(moto, output, configure: s => s[$"Compute:Ec2:PurchaseByMachineType:{machine.Label}"] = "SpotThenOnDemand");
        ec2.Faults.Inject("RunInstances", Ec2Fault.NoCapacity(), times: int.MaxValue, when: c => c["InstanceMarketOptions.MarketType"] == "spot");
        var request = ec2.Request(machine: machine);

        var launched = await ec2.Provider.LaunchAsync(request, CancellationToken.None);

        var runs = ec2.Faults.CallsTo("RunInstances");
        Assert.Equal((2 * moto.SubnetIds.Count) + 1, runs.Count);
        Assert.Null(runs[^1]["InstanceMarketOptions.MarketType"]);
        Assert.Null((await LaunchTests.DescribeOne(ec2.Direct, launched.InstanceId)).InstanceLifecycle);
    }

    [Fact]
    public async Task A_500_on_RunInstances_is_resolved_then_resent_with_the_same_token()
    {
        using var ec2 = Ec2Harness.Start(moto, output);
        ec2.Faults.Inject("RunInstances", Ec2Fault.Internal());
        var request = ec2.Request();

        var launched = await ec2.Provider.LaunchAsync(request, CancellationToken.None);

        var runs = ec2.Faults.CallsTo("RunInstances");
        Assert.Equal(2, runs.Count);
        Assert.All(runs, r => Assert.Equal(request.ClientToken, r["ClientToken"]));
        Assert.Contains(ec2.Faults.CallsTo("DescribeInstances"), c => c.Filter($"tag:{Ec2Launcher.LaunchTag}").SequenceEqual([request.ClientToken]));
        Assert.Equal([launched.InstanceId], (await Live(ec2, request)).Select(i => i.InstanceId));
    }

    [Fact]
    public async Task An_answer_lost_after_the_launch_happened_leaves_exactly_one_instance()
    {
        using var ec2 = Ec2Harness.Start(moto, output);
        ec2.Faults.Inject("RunInstances", new Ec2Fault.LoseAnswer());
        var request = ec2.Request();

        var launched = await ec2.Provider.LaunchAsync(request, CancellationToken.None);

        var live = await Live(ec2, request);
        Assert.Equal([launched.InstanceId], live.Select(i => i.InstanceId));
        // moto ignores ClientToken, so a blind resend would have made a second instance: the describe found the first.
        Assert.Single(ec2.Faults.CallsTo("RunInstances"));
        LaunchTests.AssertNeverLogged(ec2, request.Claim.Token);
    }

    [Fact]
    public async Task A_connection_that_never_reached_EC2_is_resent_with_the_same_token()
    {
        using var ec2 = Ec2Harness.Start(moto, output);
        ec2.Faults.Inject("RunInstances", new Ec2Fault.Unreachable(), times: 2);
        var request = ec2.Request();

        var launched = await ec2.Provider.LaunchAsync(request, CancellationToken.None);

        Assert.Equal(3, ec2.Faults.CallsTo("RunInstances").Count);
        Assert.All(ec2.Faults.CallsTo("RunInstances"), r => Assert.Equal(request.ClientToken, r["ClientToken"]));
        Assert.Equal([launched.InstanceId], (await Live(ec2, request)).Select(i => i.InstanceId));
    }

    [Fact]
    public async Task An_outcome_that_stays_unknown_fails_the_attempt_and_says_so()
    {
        using var ec2 = Ec2Harness.Start(moto, output, configure: s => s["Compute:Ec2:UnknownOutcomeRetries"] = "2");
        ec2.Faults.Inject("RunInstances", Ec2Fault.Internal(), times: int.MaxValue);
        var request = ec2.Request();

        var failed = await Assert.ThrowsAsync<Ec2LaunchException>(() => ec2.Provider.LaunchAsync(request, CancellationToken.None));

        output.WriteLine(failed.Message);
        Assert.Contains("unknown outcome after 3 tries", failed.Message, StringComparison.Ordinal);
        Assert.Contains(request.ClientToken, failed.Message, StringComparison.Ordinal);
        Assert.Contains("InternalError", failed.Message, StringComparison.Ordinal);
        // Unknown is not "no capacity": moving on to another zone could have made a second instance.
        Assert.All(ec2.Faults.CallsTo("RunInstances"), r => Assert.Equal(request.ClientToken, r["ClientToken"]));
    }

    [Fact]
    public async Task Throttling_beyond_the_retries_fails_with_the_reason()
    {
        using var ec2 = Ec2Harness.Start(moto, output, configure: s => s["Compute:Ec2:ThrottleRetries"] = "2");
        ec2.Faults.Inject("RunInstances", Ec2Fault.Throttled(), times: int.MaxValue);

        var failed = await Assert.ThrowsAsync<Ec2LaunchException>(() => ec2.Provider.LaunchAsync(ec2.Request(), CancellationToken.None));

        output.WriteLine(failed.Message);
        Assert.Contains("RequestLimitExceeded", failed.Message, StringComparison.Ordinal);
        Assert.Contains("still rate-limited after 3 tries", failed.Message, StringComparison.Ordinal);
        Assert.Equal(3, ec2.Faults.CallsTo("RunInstances").Count);
    }

    [Fact]
    public async Task Not_found_right_after_a_launch_proves_nothing()
    {
        using var ec2 = Ec2Harness.Start(moto, output);
        var launched = await ec2.Provider.LaunchAsync(ec2.Request(), CancellationToken.None);
        var id = launched.InstanceId;
        ec2.Faults.Inject("DescribeInstances", new Ec2Fault.EmptyDescribe(), when: c => c.Filter("instance-id").Contains(id));
        ec2.Faults.Inject("TerminateInstances", Ec2Fault.NotFound(id), when: c => c.List("InstanceId").Contains(id));

        Assert.Equal(InstanceState.Pending, await ec2.Provider.DescribeAsync(id, CancellationToken.None));
        var early = await Assert.ThrowsAsync<Ec2TerminationException>(() => ec2.Provider.TerminateAsync(id, CancellationToken.None));
        Assert.Contains("eventual consistency", early.Message, StringComparison.Ordinal);
        Assert.Equal("running", (await LaunchTests.DescribeOne(ec2.Direct, id)).State.Name.Value);

        // Once EC2 has caught up, the same calls see and end the instance.
        await ec2.Provider.TerminateAsync(id, CancellationToken.None);
        Assert.Equal(InstanceState.Terminated, await ec2.Provider.DescribeAsync(id, CancellationToken.None));
    }

    [Fact]
    public async Task Not_found_long_after_a_launch_means_gone()
    {
        var clock = new Microsoft.Extensions.Time.Testing.FakeTimeProvider(DateTimeOffset.UtcNow);
        using var ec2 = Ec2Harness.Start(moto, output, clock);
        var launched = await ec2.Provider.LaunchAsync(ec2.Request(), CancellationToken.None);
        clock.Advance(TimeSpan.FromMinutes(6));
        ec2.Faults.Inject("DescribeInstances", new Ec2Fault.EmptyDescribe(), when: c => c.Filter("instance-id").Contains(launched.InstanceId));

        Assert.Equal(InstanceState.NotFound, await ec2.Provider.DescribeAsync(launched.InstanceId, CancellationToken.None));
    }

    [Fact]
    public async Task Describe_and_terminate_ride_out_5xx_answers()
    {
        using var ec2 = Ec2Harness.Start(moto, output);
        var launched = await ec2.Provider.LaunchAsync(ec2.Request(), CancellationToken.None);
        ec2.Faults.Inject("DescribeInstances", Ec2Fault.Internal());
        ec2.Faults.Inject("TerminateInstances", new Ec2Fault.LoseAnswer());

        Assert.Equal(InstanceState.Running, await ec2.Provider.DescribeAsync(launched.InstanceId, CancellationToken.None));
        await ec2.Provider.TerminateAsync(launched.InstanceId, CancellationToken.None);

        Assert.Equal(2, ec2.Faults.CallsTo("TerminateInstances").Count);
        Assert.Equal("terminated", (await LaunchTests.DescribeOne(ec2.Direct, launched.InstanceId)).State.Name.Value);
    }

    [Fact]
    public async Task Concurrent_terminations_share_a_request_and_one_bad_id_fails_no_other()
    {
        using var ec2 = Ec2Harness.Start(moto, output);
        var launched = await Task.WhenAll(Enumerable.Range(0, 4).Select(_ => ec2.Provider.LaunchAsync(ec2.Request(), CancellationToken.None)));
        var ids = launched.Select(l => l.InstanceId).ToArray();
        var held = new TaskCompletionSource();
        var gate = new TaskCompletionSource();
        ec2.Faults.Inject("TerminateInstances", new Ec2Fault.Hold(held, gate.Task));
        // Outside the IAM policy, say: EC2 refuses the whole request if it names this instance.
        ec2.Faults.Inject("TerminateInstances", new Ec2Fault.Error(HttpStatusCode.Forbidden, "UnauthorizedOperation", "You are not authorized to perform this operation."),
            times: int.MaxValue, when: c => c.List("InstanceId").Contains(ids[3]));

        var first = ec2.Provider.TerminateAsync(ids[0], CancellationToken.None);
        await held.Task.WaitAsync(TimeSpan.FromSeconds(30));
        var rest = new[]
        {
            ec2.Provider.TerminateAsync(ids[1], CancellationToken.None),
            ec2.Provider.TerminateAsync(ids[2], CancellationToken.None),
            ec2.Provider.TerminateAsync("i-0123456789abcdef0", CancellationToken.None),
            ec2.Provider.TerminateAsync(ids[3], CancellationToken.None),
        };
        gate.SetResult();
        await first;
        await Task.WhenAll(rest[..3]);
        var refused = await Assert.ThrowsAsync<Ec2TerminationException>(() => rest[3]);

        Assert.Contains("UnauthorizedOperation", refused.Message, StringComparison.Ordinal);
        var batch = ec2.Faults.CallsTo("TerminateInstances")[1];
        Assert.Equal(4, batch.List("InstanceId").Count);
        foreach (var id in ids[..3])
        {
            Assert.Equal("terminated", (await LaunchTests.DescribeOne(ec2.Direct, id)).State.Name.Value);
        }

        Assert.Equal("running", (await LaunchTests.DescribeOne(ec2.Direct, ids[3])).State.Name.Value);
    }

    [Fact]
    public async Task An_unknown_id_in_a_batch_is_dropped_and_the_rest_sent_again()
    {
        using var ec2 = Ec2Harness.Start(moto, output);
        var launched = await Task.WhenAll(Enumerable.Range(0, 2).Select(_ => ec2.Provider.LaunchAsync(ec2.Request(), CancellationToken.None)));
        var held = new TaskCompletionSource();
        var gate = new TaskCompletionSource();
        ec2.Faults.Inject("TerminateInstances", new Ec2Fault.Hold(held, gate.Task));

        var first = ec2.Provider.TerminateAsync(launched[0].InstanceId, CancellationToken.None);
        await held.Task.WaitAsync(TimeSpan.FromSeconds(30));
        var unknown = ec2.Provider.TerminateAsync("i-0fedcba9876543210", CancellationToken.None);
        var second = ec2.Provider.TerminateAsync(launched[1].InstanceId, CancellationToken.None);
        gate.SetResult();
        await Task.WhenAll(first, unknown, second);

        var batches = ec2.Faults.CallsTo("TerminateInstances").Skip(1).Select(c => c.List("InstanceId")).ToList();
        output.WriteLine(string.Join(" | ", batches.Select(b => string.Join(",", b))));
        // EC2 names the unknown id in its NotFound error; the known one goes again on its own.
        Assert.Equal(2, batches.Count);
        Assert.Equal(2, batches[0].Count);
        Assert.Equal([launched[1].InstanceId], batches[1]);
        Assert.Equal("terminated", (await LaunchTests.DescribeOne(ec2.Direct, launched[1].InstanceId)).State.Name.Value);
    }

    /// <summary>Instances of the request's lease that are not terminated, read straight from moto.</summary>
    private static async Task<IReadOnlyList<Amazon.EC2.Model.Instance>> Live(Ec2Harness ec2, LaunchRequest request)
    {
        var response = await ec2.Direct.DescribeInstancesAsync(new Amazon.EC2.Model.DescribeInstancesRequest
        {
            Filters = [new Amazon.EC2.Model.Filter($"tag:{InstanceTags.Lease}", [request.LeaseId.ToString("N")])],
        });
        return [.. (response.Reservations ?? []).SelectMany(r => r.Instances ?? []).Where(i => i.State.Name.Value != "terminated")];
    }
}
