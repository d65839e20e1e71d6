using System.Net;
using Builtiful.GitHub.Tests.Fakes;
using Builtiful.Providers;

namespace Builtiful.GitHub.Tests;

public sealed class AppAuthenticationTests
{
    private const string TokenExchange = "^/app/installations/[0-9]+/access_tokens$";
    private const string RepoJit = "^/repos/acme/widgets/actions/runners/generate-jitconfig$";

    [Fact]
    public async Task The_App_JWT_verifies_with_the_public_key_and_carries_issuer_and_short_lifetime()
    {
        await using var harness = await GitHubAppHarness.StartAsync();

        await harness.Runners.CreateAsync(GitHubAppHarness.OrgRunner(), CancellationToken.None).Bounded();

        var exchange = Assert.Single(harness.GitHub.Seen("POST", TokenExchange));
        Assert.Equal("/app/installations/42/access_tokens", exchange.Path);
        var jwt = AppJwt.Parse(exchange.Bearer, harness.Key);
        Assert.NotNull(jwt);
        Assert.True(jwt.SignatureValid);
        Assert.Equal("RS256", jwt.Algorithm);
        Assert.Equal("JWT", jwt.Type);
        Assert.Equal(GitHubFake.AppId, jwt.Issuer);
        var now = ObservedClock.Epoch.ToUnixTimeSeconds();
        Assert.Equal(now - 60, jwt.IssuedAt);
        Assert.InRange(jwt.ExpiresAt, now + 1, now + 600);

        // A JWT signed by any other key does not verify.
        using var other = System.Security.Cryptography.RSA.Create(2048);
        Assert.False(AppJwt.Parse(exchange.Bearer, other)!.SignatureValid);
    }

    [Fact]
    public async Task One_token_exchange_serves_many_JIT_calls_until_shortly_before_it_expires()
    {
        await using var harness = await GitHubAppHarness.StartAsync();

        for (var i = 0; i < 3; i++)
        {
            await harness.Runners.CreateAsync(GitHubAppHarness.OrgRunner(), CancellationToken.None).Bounded();
        }

        Assert.Single(harness.GitHub.Seen("POST", TokenExchange));
        var jits = harness.GitHub.Seen("POST", RepoJit);
        Assert.Equal(3, jits.Count);
        Assert.Single(jits.Select(j => j.Bearer).Distinct());
        Assert.StartsWith("ghs_", jits[0].Bearer, StringComparison.Ordinal);

        // The token lives an hour and is replaced five minutes early: at 54 minutes it still serves.
        harness.Clock.Advance(TimeSpan.FromMinutes(54));
        await harness.Runners.CreateAsync(GitHubAppHarness.OrgRunner(), CancellationToken.None).Bounded();
        Assert.Single(harness.GitHub.Seen("POST", TokenExchange));

        harness.Clock.Advance(TimeSpan.FromMinutes(2));
        await harness.Runners.CreateAsync(GitHubAppHarness.OrgRunner(), CancellationToken.None).Bounded();
        Assert.Equal(2, harness.GitHub.Seen("POST", TokenExchange).Count);
        var latest = harness.GitHub.Seen("POST", RepoJit)[^1];
        Assert.NotEqual(jits[0].Bearer, latest.Bearer);
        harness.AssertNoSecretLogged();
    }

    [Fact]
    public async Task Concurrent_first_calls_for_one_installation_share_one_token_exchange()
    {
        await using var harness = await GitHubAppHarness.StartAsync();
        var exchangeArrived = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var releaseExchange = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        harness.GitHub.Once("POST", TokenExchange, async _ =>
        {
            exchangeArrived.TrySetResult();
            await releaseExchange.Task;
            return null;
        });

        var calls = new Task<RunnerConfig>[8];
        var starters = Enumerable.Range(0, calls.Length)
            .Select(i => Task.Run(() => { calls[i] = harness.Runners.CreateAsync(GitHubAppHarness.OrgRunner(), CancellationToken.None); }))
            .ToArray();

        // Each starter returns once its call is suspended: on the exchange itself, or waiting for it.
        await Task.WhenAll(starters).Bounded();
        await exchangeArrived.Task.Bounded();
        releaseExchange.SetResult();
        await Task.WhenAll(calls).Bounded();

        Assert.Single(harness.GitHub.Seen("POST", TokenExchange));
        Assert.Equal(calls.Length, harness.GitHub.Seen("POST", RepoJit).Count);
    }

    [Fact]
    public async Task Each_installation_has_its_own_token()
    {
        await using var harness = await GitHubAppHarness.StartAsync();

        await harness.Runners.CreateAsync(GitHubAppHarness.OrgRunner(), CancellationToken.None).Bounded();
        await harness.Runners.CreateAsync(GitHubAppHarness.UserRunner(), CancellationToken.None).Bounded();

        var exchanges = harness.GitHub.Seen("POST", TokenExchange).Select(r => r.Path).Order().ToList();
        Assert.Equal(["/app/installations/42/access_tokens", "/app/installations/77/access_tokens"], exchanges);
    }

    [Fact]
    public async Task A_revoked_token_is_exchanged_once_more_and_the_call_succeeds()
    {
        await using var harness = await GitHubAppHarness.StartAsync();
        await harness.Runners.CreateAsync(GitHubAppHarness.OrgRunner(), CancellationToken.None).Bounded();

        harness.GitHub.RevokeTokens();
        var config = await harness.Runners.CreateAsync(GitHubAppHarness.OrgRunner(), CancellationToken.None).Bounded();

        Assert.NotEmpty(config.EncodedJitConfig);
        Assert.Equal(2, harness.GitHub.Seen("POST", TokenExchange).Count);
        var jits = harness.GitHub.Seen("POST", RepoJit);
        Assert.Equal(3, jits.Count);
        Assert.Equal(jits[^1].Bearer, harness.GitHub.Requests[^1].Bearer);
    }

    [Fact]
    public async Task An_uninstalled_App_is_a_permanent_refusal_that_names_the_installation()
    {
        await using var harness = await GitHubAppHarness.StartAsync();
        harness.GitHub.Once("POST", TokenExchange, FakeReply.Error(404, "Not Found"));

        var refused = await Assert.ThrowsAsync<GitHubRequestRefusedException>(
            () => harness.Runners.CreateAsync(GitHubAppHarness.OrgRunner(), CancellationToken.None).Bounded());

        Assert.True(refused.IsPermanent);
        Assert.Equal(HttpStatusCode.NotFound, refused.StatusCode);
        Assert.Equal("POST /app/installations/42/access_tokens", refused.Endpoint);
        Assert.Contains("Installation 42 does not exist for this App", refused.Message, StringComparison.Ordinal);
        Assert.Single(harness.GitHub.Seen("POST", TokenExchange));
        Assert.Empty(harness.GitHub.Seen("POST", RepoJit));
    }
}
