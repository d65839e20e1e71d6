using System.Globalization;
using Builtiful.GitHub.Tests.Fakes;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace Builtiful.GitHub.Tests;

/// <summary>The retry policy (Microsoft.Extensions.Http.Resilience) on the fake clock, the JWT through IdentityModel, and option validation.</summary>
public sealed class ResilienceTests
{
    private const string RepoJit = "^/repos/acme/widgets/actions/runners/generate-jitconfig$";

    [Fact]
    public async Task A_429_with_Retry_After_is_retried_exactly_that_much_later_on_the_fake_clock()
    {
        await using var harness = await GitHubAppHarness.StartAsync();
        harness.GitHub.Once("POST", RepoJit, FakeReply.Error(429, "Too many requests", new Dictionary<string, string> { ["Retry-After"] = "7" }));

        var call = harness.Runners.CreateAsync(GitHubAppHarness.OrgRunner(), CancellationToken.None);
        var pause = await harness.Clock.NextTimerAsync();
        Assert.Equal(TimeSpan.FromSeconds(7), pause);
        Assert.Single(harness.GitHub.Seen("POST", RepoJit));
        harness.Clock.Advance(pause);
        await call.Bounded();

        var attempts = harness.GitHub.Seen("POST", RepoJit);
        Assert.Equal(2, attempts.Count);
        Assert.Equal(ObservedClock.Epoch + TimeSpan.FromSeconds(7), attempts[1].ReceivedAt);
    }

    [Fact]
    public async Task A_403_secondary_limit_naming_its_reset_waits_until_that_reset()
    {
        await using var harness = await GitHubAppHarness.StartAsync();
        var reset = ObservedClock.Epoch + TimeSpan.FromSeconds(12);
        harness.GitHub.Once("POST", RepoJit, FakeReply.Error(403, "You have exceeded a secondary rate limit.", new Dictionary<string, string>
        {
            ["X-RateLimit-Remaining"] = "0",
            ["X-RateLimit-Reset"] = reset.ToUnixTimeSeconds().ToString(CultureInfo.InvariantCulture),
        }));

        var call = harness.Runners.CreateAsync(GitHubAppHarness.OrgRunner(), CancellationToken.None);
        var pause = await harness.Clock.NextTimerAsync();
        harness.Clock.Advance(pause);
        await call.Bounded();

        Assert.Equal(TimeSpan.FromSeconds(13), pause);
        Assert.True(harness.GitHub.Seen("POST", RepoJit)[1].ReceivedAt > reset);
    }

    [Fact]
    public async Task A_server_error_is_retried_after_a_short_jittered_backoff()
    {
        await using var harness = await GitHubAppHarness.StartAsync();
        harness.GitHub.Once("POST", RepoJit, FakeReply.Error(503, "Service unavailable"));

        var call = harness.Runners.CreateAsync(GitHubAppHarness.OrgRunner(), CancellationToken.None);
        var pause = await harness.Clock.NextTimerAsync();
        harness.Clock.Advance(pause);
        var config = await call.Bounded();

        Assert.InRange(pause, TimeSpan.FromMilliseconds(1), TimeSpan.FromSeconds(5));
        Assert.NotEmpty(config.EncodedJitConfig);
        Assert.Equal(2, harness.GitHub.Seen("POST", RepoJit).Count);
    }

    [Fact]
    public async Task A_permanent_refusal_is_not_retried()
    {
        await using var harness = await GitHubAppHarness.StartAsync();
        harness.GitHub.Once("POST", RepoJit, FakeReply.Error(422, "Validation Failed"));

        var refused = await Assert.ThrowsAsync<GitHubRequestRefusedException>(
            () => harness.Runners.CreateAsync(GitHubAppHarness.OrgRunner(), CancellationToken.None).Bounded());

        Assert.True(refused.IsPermanent);
        Assert.Contains("GitHub refused POST /repos/acme/widgets/actions/runners/generate-jitconfig with 422", refused.Message, StringComparison.Ordinal);
        Assert.Single(harness.GitHub.Seen("POST", RepoJit));
        Assert.False(harness.Clock.AnyTimerArmed);
    }

    [Fact]
    public async Task An_attempt_that_gets_no_answer_times_out_on_the_fake_clock_with_a_clear_message()
    {
        await using var harness = await GitHubAppHarness.StartAsync(s => s["GitHub:MaxAttempts"] = "1");
        var arrived = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var answer = new TaskCompletionSource<FakeReply?>(TaskCreationOptions.RunContinuationsAsynchronously);
        harness.GitHub.Once("POST", RepoJit, _ =>
        {
            arrived.TrySetResult();
            return answer.Task;
        });

        var call = harness.Runners.CreateAsync(GitHubAppHarness.OrgRunner(), CancellationToken.None);
        await arrived.Task.Bounded();
        Assert.False(call.IsCompleted);
        harness.Clock.Advance(TimeSpan.FromSeconds(30));
        var failure = await Assert.ThrowsAsync<GitHubApiException>(() => call.Bounded());
        answer.SetResult(FakeReply.Error(500, "too late"));

        Assert.False(failure.IsPermanent);
        Assert.Null(failure.StatusCode);
        Assert.Contains("GitHub did not answer POST /repos/acme/widgets/actions/runners/generate-jitconfig in time", failure.Message, StringComparison.Ordinal);
        Assert.Contains("GitHub:RequestTimeout is 30 s", failure.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("ghs_", failure.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_App_JWT_validates_with_IdentityModel_against_the_public_key_alone()
    {
        await using var harness = await GitHubAppHarness.StartAsync();
        await harness.Runners.CreateAsync(GitHubAppHarness.OrgRunner(), CancellationToken.None).Bounded();
        var bearer = Assert.Single(harness.GitHub.Seen("POST", "^/app/installations/42/access_tokens$")).Bearer;
        using var publicKey = System.Security.Cryptography.RSA.Create();
        publicKey.ImportFromPem(harness.Key.ExportSubjectPublicKeyInfoPem());

        var result = await new JsonWebTokenHandler().ValidateTokenAsync(bearer, new TokenValidationParameters
        {
            IssuerSigningKey = new RsaSecurityKey(publicKey),
            ValidAlgorithms = [SecurityAlgorithms.RsaSha256],
            ValidIssuer = GitHubFake.AppId.ToString(CultureInfo.InvariantCulture),
            ValidateAudience = false,
            ValidateLifetime = false,
        });

        Assert.True(result.IsValid, result.Exception?.Message);
        var jwt = Assert.IsType<JsonWebToken>(result.SecurityToken);
        Assert.Equal(SecurityAlgorithms.RsaSha256, jwt.Alg);
        Assert.Equal(ObservedClock.Epoch.UtcDateTime - TimeSpan.FromSeconds(60), jwt.IssuedAt);
        Assert.Equal(ObservedClock.Epoch.UtcDateTime + TimeSpan.FromMinutes(9), jwt.ValidTo);
        Assert.True(jwt.ValidTo - jwt.IssuedAt <= TimeSpan.FromMinutes(10));

        using var other = System.Security.Cryptography.RSA.Create(2048);
        var forged = await new JsonWebTokenHandler().ValidateTokenAsync(bearer, new TokenValidationParameters
        {
            IssuerSigningKey = new RsaSecurityKey(other),
            ValidIssuer = GitHubFake.AppId.ToString(CultureInfo.InvariantCulture),
            ValidateAudience = false,
            ValidateLifetime = false,
        });
        Assert.False(forged.IsValid);
    }

    [Theory]
    [InlineData("GitHub:MaxAttempts", "0", "GitHub:MaxAttempts: The field GitHubAppOptions.MaxAttempts must be between 1 and 10.")]
    [InlineData("GitHub:RequestTimeout", "00:00:00", "GitHub:RequestTimeout: The field GitHubAppOptions.RequestTimeout must be between 00:00:00 exclusive and 00:10:00.")]
    [InlineData("GitHub:TokenRefreshMargin", "01:00:00", "GitHub:TokenRefreshMargin: The field GitHubAppOptions.TokenRefreshMargin must be between")]
    [InlineData("GitHub:RedeliveryWindow", "4.00:00:00", "GitHub:RedeliveryWindow: The field GitHubAppOptions.RedeliveryWindow must be between")]
    [InlineData("GitHub:WorkFolder", "", "GitHub:WorkFolder must not be empty.")]
    [InlineData("GitHub:TotalTimeout", "00:00:10", "GitHub:TotalTimeout (00:00:10) must not be shorter than GitHub:RequestTimeout (00:00:30).")]
    [InlineData("GitHub:ApiUrl", "ftp://example.com/", "GitHub:ApiUrl must be an absolute http(s) URL")]
    [InlineData("GitHub:Mode", "Cloud", "GitHub:Mode must be 'Simulated' (the default) or 'App'.")]
    public void Invalid_options_are_refused_at_start_naming_the_setting(string key, string value, string message)
    {
        using var rsa = System.Security.Cryptography.RSA.Create(2048);
        var settings = new Dictionary<string, string?>
        {
            ["GitHub:Mode"] = "App",
            ["GitHub:AppId"] = "1",
            ["GitHub:PrivateKey"] = rsa.ExportRSAPrivateKeyPem(),
            [key] = value,
        };
        using var services = new ServiceCollection()
            .AddLogging()
            .AddGitHubApp(new ConfigurationBuilder().AddInMemoryCollection(settings).Build())
            .BuildServiceProvider();

        var failure = Assert.Throws<OptionsValidationException>(() => services.GetRequiredService<IStartupValidator>().Validate());

        Assert.True(failure.Message.Contains(message, StringComparison.Ordinal), failure.Message);
        Assert.DoesNotContain(rsa.ExportRSAPrivateKeyPem().Split('\n')[1], failure.Message, StringComparison.Ordinal);
    }
}
