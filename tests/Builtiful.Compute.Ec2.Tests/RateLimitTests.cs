using Builtiful.Compute.Ec2.Api;
using Microsoft.Extensions.Time.Testing;
using Xunit.Abstractions;

namespace Builtiful.Compute.Ec2.Tests;

/// <summary>The client-side buckets and the throttling backoff, on a fake clock: assertions are about fake time, never wall time.</summary>
[Collection(MotoCollection.Name)]
public sealed class RateLimitTests(MotoServer moto, ITestOutputHelper output)
{
    [Fact]
    public async Task A_bucket_serves_its_burst_then_one_caller_per_refill_interval()
    {
        var clock = new FakeTimeProvider();
        var bucket = new TokenBucket("RunInstances", burst: 5, perSecond: 2, clock);

        var burst = Enumerable.Range(0, 5).Select(_ => bucket.AcquireAsync(CancellationToken.None).AsTask()).ToArray();
        var queued = Enumerable.Range(0, 3).Select(_ => bucket.AcquireAsync(CancellationToken.None).AsTask()).ToArray();

        Assert.All(burst, t => Assert.True(t.IsCompletedSuccessfully));
        Assert.All(queued, t => Assert.False(t.IsCompleted));
        clock.Advance(TimeSpan.FromMilliseconds(499));
        Assert.False(queued[0].IsCompleted);
        clock.Advance(TimeSpan.FromMilliseconds(1));
        await queued[0];
        Assert.False(queued[1].IsCompleted);
        clock.Advance(TimeSpan.FromSeconds(1));
        await Task.WhenAll(queued);
    }

    [Fact]
    public async Task A_bucket_refills_up_to_its_burst_only_and_a_cancelled_waiter_hands_its_token_back()
    {
        var clock = new FakeTimeProvider();
        var bucket = new TokenBucket("Describe", burst: 2, perSecond: 1, clock);
        clock.Advance(TimeSpan.FromMinutes(10));
        Assert.Equal(2, bucket.Available, precision: 6);

        await bucket.AcquireAsync(CancellationToken.None);
        await bucket.AcquireAsync(CancellationToken.None);
        using var cancel = new CancellationTokenSource();
        var cancelled = bucket.AcquireAsync(cancel.Token).AsTask();
        Assert.Equal(-1, bucket.Available, precision: 6);
        await cancel.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => cancelled);
        Assert.Equal(0, bucket.Available, precision: 6);
    }

    [Fact]
    public void Full_jitter_stays_between_zero_and_the_capped_exponential_ceiling()
    {
        var random = new Random(7);
        var baseDelay = TimeSpan.FromMilliseconds(200);
        var max = TimeSpan.FromSeconds(10);
        Assert.Equal(TimeSpan.FromMilliseconds(200), Backoff.Ceiling(1, baseDelay, max));
        Assert.Equal(TimeSpan.FromMilliseconds(800), Backoff.Ceiling(3, baseDelay, max));
        Assert.Equal(max, Backoff.Ceiling(12, baseDelay, max));
        for (var retry = 1; retry <= 12; retry++)
        {
            var delay = Backoff.FullJitter(retry, baseDelay, max, random);
            Assert.InRange(delay, TimeSpan.Zero, Backoff.Ceiling(retry, baseDelay, max));
        }
    }

    [Fact]
    public async Task Launches_beyond_the_RunInstances_burst_wait_for_the_refill_on_the_clock()
    {
        var clock = new FakeTimeProvider(DateTimeOffset.UtcNow);
        using var ec2 = Ec2Harness.Start(moto, output, clock, s =>
        {
            // EC2's published RunInstances bucket: 5 burst, 2 per second.
            s["Compute:Ec2:ApiLimits:RunInstances:Burst"] = "5";
            s["Compute:Ec2:ApiLimits:RunInstances:PerSecond"] = "2";
        });
        var start = clock.GetUtcNow();

        var launches = Enumerable.Range(0, 9).Select(_ => ec2.Provider.LaunchAsync(ec2.Request(), CancellationToken.None)).ToArray();
        await Eventually.Until(() => Task.FromResult(launches.Count(l => l.IsCompleted)), n => n == 5, "the burst of five launches completes", TimeSpan.FromSeconds(30));
        await Eventually.Until(() => Task.FromResult(ec2.Buckets.RunInstances.Available), a => a <= -3.999, "four launches queue for tokens", TimeSpan.FromSeconds(30));
        Assert.Equal(5, ec2.Faults.CallsTo("RunInstances").Count);
        Assert.Equal(4, launches.Count(l => !l.IsCompleted));

        await clock.AdvanceUntilAsync(() => launches.All(l => l.IsCompleted), TimeSpan.FromMilliseconds(50), TimeSpan.FromSeconds(10), "all nine launches");
        await Task.WhenAll(launches);

        var at = ec2.Faults.CallsTo("RunInstances").Select(c => (c.At - start).TotalSeconds).Order().ToList();
        output.WriteLine("RunInstances at fake seconds: " + string.Join(", ", at.Select(s => s.ToString("F2", System.Globalization.CultureInfo.InvariantCulture))));
        for (var k = 1; k <= at.Count; k++)
        {
            // The bucket's promise: by time t, at most burst + rate × t calls have gone out.
            Assert.True(k <= 5 + (2 * at[k - 1]) + 1e-6, $"call {k} went out at {at[k - 1]:F2} s, before the bucket allowed it");
        }

        Assert.True(at[^1] >= 2.0, "the ninth launch waited for four refills at two per second");
        Assert.True(clock.GetUtcNow() - start < TimeSpan.FromSeconds(4), "and not much longer");
    }

    [Fact]
    public async Task RequestLimitExceeded_backs_off_on_the_clock_then_succeeds_with_the_same_token()
    {
        var clock = new FakeTimeProvider(DateTimeOffset.UtcNow);
        using var ec2 = Ec2Harness.Start(moto, output, clock, s =>
        {
            s["Compute:Ec2:ThrottleBaseDelay"] = "00:00:00.500";
            s["Compute:Ec2:ThrottleMaxDelay"] = "00:00:05";
        });
        ec2.Faults.Inject("RunInstances", Ec2Fault.Throttled(), times: 3);
        var request = ec2.Request();

        var launch = ec2.Provider.LaunchAsync(request, CancellationToken.None);
        await Eventually.Until(() => Task.FromResult(ec2.Faults.CallsTo("RunInstances").Count), n => n == 1, "the first RunInstances", TimeSpan.FromSeconds(30));
        Assert.False(launch.IsCompleted);

        await clock.AdvanceUntilAsync(() => launch.IsCompleted, TimeSpan.FromMilliseconds(50), TimeSpan.FromSeconds(30), "the launch after three throttled tries");
        var launched = await launch;

        var runs = ec2.Faults.CallsTo("RunInstances");
        Assert.Equal(4, runs.Count);
        Assert.All(runs, r => Assert.Equal(request.ClientToken, r["ClientToken"]));
        Assert.Equal(3, ec2.Logs.Lines.Count(l => l.Contains("rate-limited", StringComparison.Ordinal)));
        // Full jitter: each wait is somewhere in [0, 0.5 s × 2^(n-1)], so the three waits end within 3.5 s of fake time.
        Assert.InRange((runs[^1].At - runs[0].At).TotalSeconds, 0, 3.5 + 0.05 * 4);
        Assert.NotNull(launched.InstanceId);
    }
}
