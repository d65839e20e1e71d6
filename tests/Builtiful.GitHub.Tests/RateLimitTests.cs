using System.Diagnostics.Metrics;
using System.Globalization;
using Builtiful.GitHub.Tests.Fakes;
using Microsoft.Extensions.DependencyInjection;

namespace Builtiful.GitHub.Tests;

public sealed class RateLimitTests
{
    private const string RepoJit = "^/repos/acme/widgets/actions/runners/generate-jitconfig$";

    [Fact]
    public async Task An_exhausted_budget_holds_the_next_call_until_the_reset_then_proceeds()
    {
        await using var harness = await GitHubAppHarness.StartAsync();
        var reset = ObservedClock.Epoch + TimeSpan.FromSeconds(15);
        harness.GitHub.Once("POST", RepoJit, JitWithHeaders(new Dictionary<string, string>
        {
            ["X-RateLimit-Remaining"] = "0",
            ["X-RateLimit-Reset"] = reset.ToUnixTimeSeconds().ToString(CultureInfo.InvariantCulture),
        }));
        await harness.Runners.CreateAsync(GitHubAppHarness.OrgRunner(), CancellationToken.None).Bounded();

        var held = harness.Runners.CreateAsync(GitHubAppHarness.OrgRunner(), CancellationToken.None);
        var pause = await harness.Clock.NextTimerAsync();

        Assert.InRange(pause, TimeSpan.FromSeconds(15), TimeSpan.FromSeconds(17));
        Assert.False(held.IsCompleted);
        Assert.Single(harness.GitHub.Seen("POST", RepoJit));
        harness.Clock.Advance(pause);
        await held.Bounded();

        var second = harness.GitHub.Seen("POST", RepoJit)[1];
        Assert.True(second.ReceivedAt >= reset, $"sent at {second.ReceivedAt:O}, before the reset at {reset:O}");
    }

    [Fact]
    public async Task A_reset_too_far_away_fails_fast_with_a_clear_message_and_no_call()
    {
        await using var harness = await GitHubAppHarness.StartAsync();
        var reset = ObservedClock.Epoch + TimeSpan.FromMinutes(40);
        harness.GitHub.Once("POST", RepoJit, JitWithHeaders(new Dictionary<string, string>
        {
            ["X-RateLimit-Remaining"] = "0",
            ["X-RateLimit-Reset"] = reset.ToUnixTimeSeconds().ToString(CultureInfo.InvariantCulture),
        }));
        await harness.Runners.CreateAsync(GitHubAppHarness.OrgRunner(), CancellationToken.None).Bounded();

        var limited = await Assert.ThrowsAsync<GitHubRateLimitedException>(
            () => harness.Runners.CreateAsync(GitHubAppHarness.OrgRunner(), CancellationToken.None).Bounded());

        Assert.False(limited.IsPermanent);
        Assert.Equal(reset + TimeSpan.FromSeconds(1), limited.RetryAt);
        Assert.Contains("rate limit for installation 42 is exhausted", limited.Message, StringComparison.Ordinal);
        Assert.Contains("GitHub:MaxRateLimitWait", limited.Message, StringComparison.Ordinal);
        Assert.Single(harness.GitHub.Seen("POST", RepoJit));
    }

    [Fact]
    public async Task A_secondary_limit_with_Retry_After_backs_off_for_that_long_and_retries()
    {
        await using var harness = await GitHubAppHarness.StartAsync();
        harness.GitHub.Once("POST", RepoJit, FakeReply.Error(403, "You have exceeded a secondary rate limit. Please wait a few minutes before you try again.",
            new Dictionary<string, string> { ["Retry-After"] = "10" }));

        var call = harness.Runners.CreateAsync(GitHubAppHarness.OrgRunner(), CancellationToken.None);
        var pause = await harness.Clock.NextTimerAsync();

        Assert.Equal(TimeSpan.FromSeconds(10), pause);
        Assert.Single(harness.GitHub.Seen("POST", RepoJit));
        harness.Clock.Advance(pause);
        var config = await call.Bounded();

        Assert.NotEmpty(config.EncodedJitConfig);
        var attempts = harness.GitHub.Seen("POST", RepoJit);
        Assert.Equal(2, attempts.Count);
        Assert.True(attempts[1].ReceivedAt >= ObservedClock.Epoch + TimeSpan.FromSeconds(10));
    }

    [Fact]
    public async Task A_429_without_Retry_After_waits_for_the_reset_it_names()
    {
        await using var harness = await GitHubAppHarness.StartAsync();
        harness.GitHub.Once("POST", RepoJit, FakeReply.Error(429, "API rate limit exceeded", new Dictionary<string, string>
        {
            ["X-RateLimit-Remaining"] = "0",
            ["X-RateLimit-Reset"] = (ObservedClock.Epoch + TimeSpan.FromSeconds(5)).ToUnixTimeSeconds().ToString(CultureInfo.InvariantCulture),
        }));

        var call = harness.Runners.CreateAsync(GitHubAppHarness.OrgRunner(), CancellationToken.None);
        var pause = await harness.Clock.NextTimerAsync();
        harness.Clock.Advance(pause);
        await call.Bounded();

        Assert.Equal(TimeSpan.FromSeconds(6), pause);
        Assert.Equal(2, harness.GitHub.Seen("POST", RepoJit).Count);
    }

    [Fact]
    public async Task Throttling_that_never_ends_stops_after_the_bounded_attempts()
    {
        await using var harness = await GitHubAppHarness.StartAsync();
        for (var i = 0; i < 5; i++)
        {
            harness.GitHub.Once("POST", RepoJit, FakeReply.Error(403, "You have exceeded a secondary rate limit.", new Dictionary<string, string> { ["Retry-After"] = "3" }));
        }

        var call = harness.Runners.CreateAsync(GitHubAppHarness.OrgRunner(), CancellationToken.None);
        for (var pause = 0; pause < 2; pause++)
        {
            harness.Clock.Advance(await harness.Clock.NextTimerAsync());
        }

        var limited = await Assert.ThrowsAsync<GitHubRateLimitedException>(() => call.Bounded());

        Assert.Contains("after 3 attempts", limited.Message, StringComparison.Ordinal);
        Assert.Equal(3, harness.GitHub.Seen("POST", RepoJit).Count);
        Assert.False(harness.Clock.AnyTimerArmed);
    }

    [Fact]
    public async Task A_plain_403_is_a_refusal_not_a_throttle()
    {
        await using var harness = await GitHubAppHarness.StartAsync();
        harness.GitHub.Once("POST", RepoJit, FakeReply.Error(403, "Resource not accessible by integration"));

        await Assert.ThrowsAsync<GitHubRequestRefusedException>(
            () => harness.Runners.CreateAsync(GitHubAppHarness.OrgRunner(), CancellationToken.None).Bounded());

        Assert.Single(harness.GitHub.Seen("POST", RepoJit));
        Assert.False(harness.Clock.AnyTimerArmed);
    }

    [Fact]
    public async Task Budgets_calls_and_throttles_are_published_on_the_Builtiful_GitHub_meter()
    {
        await using var harness = await GitHubAppHarness.StartAsync();
        var factory = harness.Services.GetRequiredService<IMeterFactory>();
        var remaining = new Dictionary<string, long>();
        var counters = new Dictionary<string, long>();
        using var listener = new MeterListener();
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (instrument.Meter.Name == GitHubMetrics.MeterName && ReferenceEquals(instrument.Meter.Scope, factory))
            {
                l.EnableMeasurementEvents(instrument);
            }
        };
        listener.SetMeasurementEventCallback<long>((instrument, value, tags, _) =>
        {
            lock (counters)
            {
                Assert.DoesNotContain(tags.ToArray(), t => t.Key == "installation");
                if (instrument.Name == "builtiful.github.rate_limit.remaining")
                {
                    remaining[(string)tags.ToArray().Single(t => t.Key == "budget").Value!] = value;
                }
                else
                {
                    counters[instrument.Name] = counters.GetValueOrDefault(instrument.Name) + value;
                }
            }
        });
        listener.Start();
        harness.GitHub.Once("POST", RepoJit, FakeReply.Error(403, "You have exceeded a secondary rate limit.", new Dictionary<string, string> { ["Retry-After"] = "1" }));

        var call = harness.Runners.CreateAsync(GitHubAppHarness.OrgRunner(), CancellationToken.None);
        harness.Clock.Advance(await harness.Clock.NextTimerAsync());
        await call.Bounded();
        listener.RecordObservableInstruments();

        lock (counters)
        {
            // The fake counts down from 5000 per budget: two JIT calls for installation 42, one exchange for the App.
            // Installations are not labels: the gauge shows the lowest installation budget.
            Assert.Equal(4998, remaining["installation"]);
            Assert.Equal(4999, remaining["app"]);
            Assert.Equal(3, counters["builtiful.github.calls"]);
            Assert.Equal(1, counters["builtiful.github.throttles"]);
            Assert.Equal(1, counters["builtiful.github.rate_limit.pauses"]);
        }
    }

    private static FakeReply JitWithHeaders(IReadOnlyDictionary<string, string> headers) =>
        FakeReply.Ok(201, new { runner = new { id = 1, name = "x" }, encoded_jit_config = "ZmFrZQ==" }, headers);
}
