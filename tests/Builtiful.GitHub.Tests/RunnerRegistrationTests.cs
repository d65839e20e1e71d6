using Builtiful.GitHub.Tests.Fakes;
using Builtiful.Providers;

namespace Builtiful.GitHub.Tests;

public sealed class RunnerRegistrationTests
{
    [Fact]
    public async Task An_idle_runner_is_deregistered()
    {
        await using var harness = await GitHubAppHarness.StartAsync();
        var registration = GitHubAppHarness.OrgRunner();
        var runner = harness.GitHub.AddRunner("repos/acme/widgets", registration.RunnerName);
        harness.GitHub.AddRunner("repos/acme/widgets", "builtiful-" + Guid.NewGuid().ToString("N"));

        var removal = await harness.Runners.RemoveAsync(registration, CancellationToken.None).Bounded();

        Assert.Equal(RunnerRemoval.Removed, removal);
        Assert.Equal($"/repos/acme/widgets/actions/runners/{runner.Id}", Assert.Single(harness.GitHub.Seen("DELETE", "runners/")).Path);
        Assert.DoesNotContain(harness.GitHub.RunnersIn("repos/acme/widgets"), r => r.Id == runner.Id);
        Assert.Single(harness.GitHub.RunnersIn("repos/acme/widgets"));
    }

    [Fact]
    public async Task A_busy_runner_is_reported_busy_and_not_deleted()
    {
        await using var harness = await GitHubAppHarness.StartAsync();
        var registration = GitHubAppHarness.UserRunner();
        harness.GitHub.AddRunner("repos/octocat/hello-world", registration.RunnerName, busy: true);

        var removal = await harness.Runners.RemoveAsync(registration, CancellationToken.None).Bounded();

        Assert.Equal(RunnerRemoval.Busy, removal);
        Assert.Empty(harness.GitHub.Seen("DELETE", "runners/"));
        Assert.Single(harness.GitHub.RunnersIn("repos/octocat/hello-world"));
        Assert.Single(harness.GitHub.Seen("GET", "^/repos/octocat/hello-world/actions/runners$"));
    }

    [Fact]
    public async Task A_runner_that_takes_a_job_between_listing_and_delete_is_reported_busy()
    {
        await using var harness = await GitHubAppHarness.StartAsync();
        var registration = GitHubAppHarness.OrgRunner();
        harness.GitHub.AddRunner("repos/acme/widgets", registration.RunnerName).BusyOnDelete = true;

        var removal = await harness.Runners.RemoveAsync(registration, CancellationToken.None).Bounded();

        Assert.Equal(RunnerRemoval.Busy, removal);
        Assert.Single(harness.GitHub.Seen("DELETE", "runners/"));
        Assert.Single(harness.GitHub.RunnersIn("repos/acme/widgets"));
    }

    [Fact]
    public async Task An_absent_runner_is_not_found()
    {
        await using var harness = await GitHubAppHarness.StartAsync();
        harness.GitHub.AddRunner("repos/acme/widgets", "builtiful-someone-else");

        var removal = await harness.Runners.RemoveAsync(GitHubAppHarness.OrgRunner(), CancellationToken.None).Bounded();

        Assert.Equal(RunnerRemoval.NotFound, removal);
        Assert.Empty(harness.GitHub.Seen("DELETE", "runners/"));
    }

    [Fact]
    public async Task A_runner_minted_here_can_be_removed_again()
    {
        await using var harness = await GitHubAppHarness.StartAsync();
        var registration = GitHubAppHarness.UserRunner();
        await harness.Runners.CreateAsync(registration, CancellationToken.None).Bounded();

        Assert.Equal(RunnerRemoval.Removed, await harness.Runners.RemoveAsync(registration, CancellationToken.None).Bounded());
        Assert.Equal(RunnerRemoval.NotFound, await harness.Runners.RemoveAsync(registration, CancellationToken.None).Bounded());
        Assert.Single(harness.GitHub.Seen("POST", "/app/installations/77/access_tokens"));
    }

    [Fact]
    public async Task Listing_follows_every_next_page()
    {
        await using var harness = await GitHubAppHarness.StartAsync();
        var names = Enumerable.Range(0, 250).Select(i => $"builtiful-{i:D4}").ToList();
        foreach (var name in names)
        {
            harness.GitHub.AddRunner("orgs/acme", name, busy: name.EndsWith('7'));
        }

        var runners = await harness.Source.ListRunnersAsync(GitHubAppHarness.OrgInstallation, RunnerScope.Organisation("acme"), CancellationToken.None).Bounded();

        Assert.Equal(names, runners.Select(r => r.Name));
        Assert.Equal(25, runners.Count(r => r.Busy));
        var pages = harness.GitHub.Seen("GET", "^/orgs/acme/actions/runners$");
        Assert.Equal(["?per_page=100", "?per_page=100&page=2", "?per_page=100&page=3"], pages.Select(p => p.Query));
        Assert.Single(pages.Select(p => p.Bearer).Distinct());
    }

    [Fact]
    public async Task An_incomplete_registration_names_what_is_missing()
    {
        await using var harness = await GitHubAppHarness.StartAsync();
        var registration = GitHubAppHarness.UserRunner() with { Repository = null };

        var error = await Assert.ThrowsAsync<ArgumentException>(() => harness.Runners.CreateAsync(registration, CancellationToken.None).Bounded());

        Assert.Contains("names no repository", error.Message, StringComparison.Ordinal);
        Assert.Empty(harness.GitHub.Requests);
    }

    [Fact]
    public async Task An_organisation_runner_is_removed_from_its_repository_not_from_the_organisation()
    {
        await using var harness = await GitHubAppHarness.StartAsync();
        var registration = GitHubAppHarness.OrgRunner();
        var runner = harness.GitHub.AddRunner("repos/acme/widgets", registration.RunnerName);

        var removal = await harness.Runners.RemoveAsync(registration, CancellationToken.None).Bounded();

        Assert.Equal(RunnerRemoval.Removed, removal);
        Assert.Equal($"/repos/acme/widgets/actions/runners/{runner.Id}", Assert.Single(harness.GitHub.Seen("DELETE", "runners/")).Path);
        Assert.Empty(harness.GitHub.Seen("GET", "^/orgs/"));
        Assert.Empty(harness.GitHub.RunnersIn("repos/acme/widgets"));
    }

    [Fact]
    public async Task An_organisation_runner_without_a_repository_is_not_registered_on_the_organisation()
    {
        await using var harness = await GitHubAppHarness.StartAsync();
        var registration = GitHubAppHarness.OrgRunner() with { Repository = null };

        var error = await Assert.ThrowsAsync<ArgumentException>(() => harness.Runners.CreateAsync(registration, CancellationToken.None).Bounded());

        Assert.Contains("names no repository", error.Message, StringComparison.Ordinal);
        Assert.Empty(harness.GitHub.Requests);
    }
}
