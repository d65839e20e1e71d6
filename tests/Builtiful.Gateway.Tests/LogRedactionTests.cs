using Builtiful.Gateway.Logging;
using Builtiful.Testing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Builtiful.Gateway.Tests;

/// <summary>Values that look like GitHub tokens or JWTs never reach a log sink, whatever logs them.</summary>
public sealed class LogRedactionTests
{
    private const string Jwt = "eyJhbGciOiJSUzI1NiIsInR5cCI6IkpXVCJ9.eyJpYXQiOjE3MDAwMDAwMDAsImlzcyI6NDI0MjQyfQ.c2lnbmF0dXJlLWJ5dGVz";

    [Theory]
    [InlineData("token ghs_16C7e42F292c6912E7710c838347Ae178B4a end", "token ghs_[REDACTED] end")]
    [InlineData("ghp_abcdefghijklmnopqrstuvwxyz0123456789", "ghp_[REDACTED]")]
    [InlineData("oauth=gho_16C7e42F292c6912E7710c838347Ae178B4a", "oauth=gho_[REDACTED]")]
    [InlineData("user ghu_16C7e42F292c6912E7710c838347Ae178B4a.", "user ghu_[REDACTED].")]
    [InlineData("refresh ghr_1B4a2e77838347a7E420ce178F2E7c6912E169246c34E1ccbF66C46812d16D5B1A9Dc86A1498", "refresh ghr_[REDACTED]")]
    [InlineData("pat github_pat_11ABCDEFG0123456789_abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUV", "pat github_pat_[REDACTED]")]
    [InlineData("Bearer " + Jwt + " sent", "Bearer [REDACTED-JWT] sent")]
    [InlineData("fake installation token ghs_fake4242x7", "fake installation token ghs_[REDACTED]")]
    public void Token_like_values_are_replaced_and_keep_their_kind(string text, string expected) =>
        Assert.Equal(expected, LogRedactor.Redact(text));

    [Theory]
    [InlineData("Job 289782451 of installation 957387: started (lease 6f1c…)")]
    [InlineData("thighs_and_highs_are_not_tokens ghost_town high_score")]
    [InlineData("repository Codertocat/Hello-World, branch gh-pages, sha 3484a3fb816e0859fd6e1cea078d76385ff50625")]
    [InlineData("eyJ alone is not a token")]
    public void Ordinary_text_is_left_alone(string text) => Assert.Same(text, LogRedactor.Redact(text));

    [Fact]
    public void Messages_and_structured_values_are_redacted_and_other_values_keep_their_type()
    {
        var capture = new LogCapture();
        using var services = new ServiceCollection()
            .AddLogging(logging => logging.AddProvider(capture).SetMinimumLevel(LogLevel.Trace))
            .AddLogRedaction()
            .BuildServiceProvider();
        var logger = services.GetRequiredService<ILogger<LogRedactionTests>>();

        logger.LogWarning("Exchanged {Token} for installation {InstallationId} with {Jwt}", "ghs_16C7e42F292c6912E7710c838347Ae178B4a", 957387L, Jwt);
        logger.LogInformation("Job {JobId} completed", 42L);

        var redacted = capture.Lines[0];
        Assert.Equal("Exchanged ghs_[REDACTED] for installation 957387 with [REDACTED-JWT]", redacted.Message);
        Assert.Contains("Token=ghs_[REDACTED]", redacted.Values);
        Assert.Contains("Jwt=[REDACTED-JWT]", redacted.Values);
        Assert.Contains("InstallationId=957387", redacted.Values);
        Assert.Contains("{OriginalFormat}=Exchanged {Token} for installation {InstallationId} with {Jwt}", redacted.Values);
        Assert.Equal("Job 42 completed", capture.Lines[1].Message);
        Assert.Equal(1, services.GetRequiredService<RedactingLoggerFactory>().Redactions);
    }

    [Fact]
    public async Task The_all_in_one_redacts_for_every_provider_even_one_added_after_it()
    {
        var capture = new LogCapture();
        await using var builtiful = await BuiltifulInstance.StartAsync(
            new Dictionary<string, string>(),
            builder => builder.Logging.AddProvider(capture));

        var factory = builtiful.App.Services.GetRequiredService<ILoggerFactory>();
        builtiful.App.Services.GetRequiredService<ILogger<LogRedactionTests>>()
            .LogError("Leaked {Value} and github_pat_11ABCDEFG0123456789_abcdefghij", "ghs_16C7e42F292c6912E7710c838347Ae178B4a");

        Assert.IsType<RedactingLoggerFactory>(factory);
        var line = Assert.Single(capture.Lines, l => l.Message.StartsWith("Leaked", StringComparison.Ordinal));
        Assert.Equal("Leaked ghs_[REDACTED] and github_pat_[REDACTED]", line.Message);
        Assert.DoesNotContain(capture.Lines, l => l.AllText.Contains("ghs_16C7e42F", StringComparison.Ordinal));
    }
}
