namespace Builtiful.Cli.Tests;

public sealed class HelpTests
{
    [Theory]
    [InlineData("builtiful", "--help")]
    [InlineData("orgs", "orgs", "--help")]
    [InlineData("orgs show", "orgs", "show", "--help")]
    [InlineData("orgs suspend", "orgs", "suspend", "--help")]
    [InlineData("orgs resume", "orgs", "resume", "--help")]
    [InlineData("orgs limits", "orgs", "limits", "-h")]
    [InlineData("orgs repos", "orgs", "repos", "--help")]
    [InlineData("jobs", "jobs", "--help")]
    [InlineData("leases", "leases", "--help")]
    [InlineData("pools list", "pools", "list", "--help")]
    [InlineData("pools show", "pools", "show", "--help")]
    [InlineData("pools set", "pools", "set", "--help")]
    [InlineData("usage", "usage", "--help")]
    [InlineData("terminate", "terminate", "--help")]
    [InlineData("sweep", "sweep", "--help")]
    [InlineData("replay", "replay", "-?")]
    public async Task Every_command_explains_itself(string usage, params string[] args)
    {
        var run = await Cli.RunAsync(args);

        Assert.True(run.ExitCode == 0, run.ToString());
        Assert.Contains("Usage:", run.Output, StringComparison.Ordinal);
        // In-process the root is named after the test host; the real executable is named builtiful (AssemblyName).
        Assert.Contains(usage == "builtiful" ? " [command] [options]" : $" {usage}", run.Output.Split("Usage:")[1], StringComparison.Ordinal);
        Assert.Contains("--url", run.Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_root_help_names_every_command()
    {
        var run = await Cli.RunAsync("--help");

        foreach (var command in new[] { "orgs", "jobs", "leases", "pools", "usage", "terminate", "replay", "sweep" })
        {
            Assert.Contains($"  {command}", run.Output, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task Secrets_from_the_environment_never_appear_in_help()
    {
        var run = await Cli.RunAsync("replay", "--help");

        Assert.Contains("$GITHUB_WEBHOOK_SECRET", run.Output, StringComparison.Ordinal);
        Assert.DoesNotContain("[default:", run.Output.Split('\n').Where(l => l.Contains("--secret", StringComparison.Ordinal) || l.Contains("--token", StringComparison.Ordinal)).FirstOrDefault() ?? "", StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_wrong_url_or_missing_argument_is_a_usage_error()
    {
        var url = await Cli.RunAsync("orgs", "--url", "not a url");
        var missing = await Cli.RunAsync("usage");

        Assert.Equal(2, url.ExitCode);
        Assert.Contains("--url must be an absolute", url.Error, StringComparison.Ordinal);
        Assert.NotEqual(0, missing.ExitCode);
    }
}
