using Builtiful.GitHub.Tests.Fakes;

namespace Builtiful.GitHub.Tests;

public sealed class DeliveryRecoveryTests
{
    [Fact]
    public async Task Only_failed_deliveries_inside_the_window_that_never_arrived_are_redelivered()
    {
        await using var harness = await GitHubAppHarness.StartAsync();
        var now = ObservedClock.Epoch;
        var fake = harness.GitHub;

        // 150 delivered events, so the failures are spread over two pages.
        for (var i = 0; i < 150; i++)
        {
            fake.AddDelivery(10_000 + i, $"ok-{i}", now - TimeSpan.FromMinutes(i * 10), 200);
        }

        var lost = fake.AddDelivery(1, "lost", now - TimeSpan.FromHours(1), 502);
        fake.AddDelivery(2, "recovered", now - TimeSpan.FromHours(30), 0);
        fake.AddDelivery(3, "recovered", now - TimeSpan.FromHours(29), 200, redelivery: true);
        fake.AddDelivery(4, "too-old", now - TimeSpan.FromDays(3) - TimeSpan.FromHours(1), 503);
        fake.AddDelivery(5, "twice", now - TimeSpan.FromHours(20), 500);
        var twiceLatest = fake.AddDelivery(6, "twice", now - TimeSpan.FromHours(19), 504, redelivery: true);
        for (var i = 0; i < 5; i++)
        {
            fake.AddDelivery(20 + i, "hopeless", now - TimeSpan.FromHours(10 - i), 400, redelivery: i > 0);
        }

        var summary = await harness.Recovery.RecoverAsync(CancellationToken.None).Bounded();

        Assert.Equal([lost.Id, twiceLatest.Id], summary.Redelivered.Order());
        Assert.Equal(
            ["/app/hook/deliveries/1/attempts", "/app/hook/deliveries/6/attempts"],
            fake.Seen("POST", "^/app/hook/deliveries/[0-9]+/attempts$").Select(r => r.Path).Order());
        Assert.Equal(1, summary.SkippedDeliveredSince);
        Assert.Equal(1, summary.SkippedOutsideWindow);
        Assert.Equal(1, summary.SkippedGaveUp);
        Assert.Empty(summary.Failures);

        var listings = fake.Seen("GET", "^/app/hook/deliveries$");
        Assert.Equal(["?per_page=100", "?per_page=100&cursor=v1_100"], listings.Select(l => l.Query));

        // Every call is the App's own: a JWT, never an installation token.
        Assert.Empty(fake.Seen("POST", "access_tokens"));
        Assert.All(fake.Requests, r => Assert.True(AppJwt.Parse(r.Bearer, harness.Key)?.SignatureValid));
    }

    [Fact]
    public async Task Paging_stops_once_a_page_reaches_past_the_window()
    {
        await using var harness = await GitHubAppHarness.StartAsync(s => s["GitHub:RedeliveryWindow"] = "01:00:00");
        var now = ObservedClock.Epoch;
        for (var i = 0; i < 300; i++)
        {
            harness.GitHub.AddDelivery(i + 1, $"g-{i}", now - TimeSpan.FromMinutes(i), 500);
        }

        var summary = await harness.Recovery.RecoverAsync(CancellationToken.None).Bounded();

        Assert.Single(harness.GitHub.Seen("GET", "^/app/hook/deliveries$"));
        Assert.Equal(61, summary.Redelivered.Count);
        Assert.Equal(39, summary.SkippedOutsideWindow);
    }

    [Fact]
    public async Task A_refused_redelivery_is_reported_and_the_others_still_go_out()
    {
        await using var harness = await GitHubAppHarness.StartAsync();
        var now = ObservedClock.Epoch;
        harness.GitHub.AddDelivery(1, "a", now - TimeSpan.FromMinutes(5), 502);
        harness.GitHub.AddDelivery(2, "b", now - TimeSpan.FromMinutes(6), 502);
        harness.GitHub.Once("POST", "^/app/hook/deliveries/1/attempts$", FakeReply.Error(422, "Validation Failed"));

        var summary = await harness.Recovery.RecoverAsync(CancellationToken.None).Bounded();

        Assert.Equal([2L], summary.Redelivered);
        var failure = Assert.Single(summary.Failures);
        Assert.Contains("POST /app/hook/deliveries/1/attempts with 422", failure, StringComparison.Ordinal);
    }
}
