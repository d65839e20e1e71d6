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
        using var bucket = new RequestBucket("RunInstances", burst: 5, perSecond: 2, clock);

        var burst = Enumerable.Range(0, 5).Select(_ => bucket.AcquireAsync(CancellationToken.None).AsTask()).ToArray();
        var queued = Enumerable.Range(0, 3).Select(_ => bucket.AcquireAsync(CancellationToken.None).AsTask()).ToArray();

        Assert.All(burst, t => Assert.True(t.IsCompletedSuccessfully));
        Assert.All(queued, t => Assert.False(t.IsCompleted));
        Assert.Equal(3, bucket.Waiting);
        clock.Advance(TimeSpan.FromMilliseconds(499));
        Assert.False(queued[0].IsCompleted);
        clock.Advance(TimeSpan.FromMilliseconds(1));
        await queued[0];
        Assert.False(queued[1].IsCompleted);
        clock.Advance(TimeSpan.FromSeconds(1));
        await Task.WhenAll(queued);
    }

    [Fact]
    public async Task A_bucket_refills_up_to_its_burst_only_and_a_cancelled_waiter_takes_no_token()
    {
        var clock = new FakeTimeProvider();
        using var bucket = new RequestBucket("Describe", burst: 2, perSecond: 1, clock);
        clock.Advance(TimeSpan.FromMinutes(10));
        Assert.Equal(2, bucket.Available);

        await bucket.AcquireAsync(CancellationToken.None);
        await bucket.AcquireAsync(CancellationToken.None);
        using var cancel = new CancellationTokenSource();
        var cancelled = bucket.AcquireAsync(cancel.Token).AsTask();
        Assert.Equal(0, bucket.Available);
        Assert.Equal(1, bucket.Waiting);
        await cancel.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => cancelled);
        Assert.Equal(0, bucket.Waiting);

        // The cancelled caller left nothing owed: the next refill goes to the next caller.
        var next = bucket.AcquireAsync(CancellationToken.None).AsTask();
        clock.Advance(TimeSpan.FromSeconds(1));
        await next;
        clock.Advance(TimeSpan.FromMinutes(10));
        Assert.Equal(2, bucket.Available);
    }

    [Fact]
    public async Task A_bucket_that_filled_up_again_makes_the_next_refill_wait_a_whole_interval()
    {
        var clock = new FakeTimeProvider();
        using var bucket = new RequestBucket("RunInstances", burst: 1, perSecond: 2, clock);

        await bucket.AcquireAsync(CancellationToken.None);
        clock.Advance(TimeSpan.FromMilliseconds(500));
        Assert.Equal(1, bucket.Available);
        clock.Advance(TimeSpan.FromMilliseconds(300));
        await bucket.AcquireAsync(CancellationToken.None);
        var waiter = bucket.AcquireAsync(CancellationToken.None).AsTask();

        // A continuous bucket emptied at 0.8 s has its next token at 1.3 s, not at the old cadence's 1.0 s.
        clock.Advance(TimeSpan.FromMilliseconds(499));
        Assert.False(waiter.IsCompleted);
        clock.Advance(TimeSpan.FromMilliseconds(1));
        await waiter;
    }

    [Theory]
    [InlineData(5, 2.0)]
    [InlineData(3, 0.5)]
    [InlineData(10, 20.0)]
    public async Task Under_steady_demand_a_bucket_lets_through_burst_plus_rate_times_time_and_no_more(int burst, double perSecond)
    {
        var clock = new FakeTimeProvider();
        using var bucket = new RequestBucket("RunInstances", burst, perSecond, clock);
        var step = TimeSpan.FromMilliseconds(10);
        var callers = Enumerable.Range(0, burst + (int)(perSecond * 20) + 5).Select(_ => bucket.AcquireAsync(CancellationToken.None).AsTask()).ToArray();

        for (var elapsed = TimeSpan.Zero; elapsed <= TimeSpan.FromSeconds(20); elapsed += step)
        {
            // Continuations released by the last step take their tokens before counting.
            using var settle = new CancellationTokenSource(TimeSpan.FromSeconds(10));
            while (bucket.Waiting + callers.Count(c => c.IsCompletedSuccessfully) != callers.Length)
            {
                await Task.Delay(1, settle.Token);
            }

            var through = callers.Count(c => c.IsCompletedSuccessfully);
            // Whole tokens only: by fake time t exactly burst + floor(rate × t) callers have a token.
            var allowed = burst + (int)Math.Floor((perSecond * elapsed.TotalSeconds) + 1e-9);
            Assert.True(through == allowed, $"at {elapsed.TotalSeconds:F2} s {through} callers had a token; the bucket allows {allowed}");
            clock.Advance(step);
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
        await Eventually.Until(() => Task.FromResult(ec2.Buckets.RunInstances.Waiting), n => n == 4, "four launches queue for tokens", TimeSpan.FromSeconds(30));
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
