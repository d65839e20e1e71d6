using System.Net;
using System.Text.Json;
using Builtiful.GitHub.Tests.Fakes;

namespace Builtiful.GitHub.Tests;

public sealed class JitRunnerTests
{
    private const string RepoJit = "^/repos/acme/widgets/actions/runners/generate-jitconfig$";

    [Fact]
    public async Task An_organisation_installation_registers_on_the_jobs_repository_in_its_default_group_with_name_labels_and_work_folder()
    {
        await using var harness = await GitHubAppHarness.StartAsync();
        var registration = GitHubAppHarness.OrgRunner(group: 7);

        var config = await harness.Runners.CreateAsync(registration, CancellationToken.None).Bounded();

        var request = Assert.Single(harness.GitHub.Seen("POST", "generate-jitconfig$"));
        Assert.Equal("/repos/acme/widgets/actions/runners/generate-jitconfig", request.Path);
        Assert.Equal(registration.RunnerName, request.Json.GetProperty("name").GetString());
        Assert.Equal(1, request.Json.GetProperty("runner_group_id").GetInt64());
        Assert.Empty(harness.GitHub.Seen("POST", "^/orgs/"));
        Assert.Equal(["builtiful-4vcpu-ubuntu-2404"], request.Json.GetProperty("labels").EnumerateArray().Select(l => l.GetString()));
        Assert.Equal("_work", request.Json.GetProperty("work_folder").GetString());
        Assert.Equal("application/json; charset=utf-8", request.Headers["Content-Type"]);
        Assert.Equal("Builtiful", request.Headers["User-Agent"]);
        Assert.Equal("2022-11-28", request.Headers["X-GitHub-Api-Version"]);
        Assert.Equal("application/vnd.github+json", request.Headers["Accept"]);

        Assert.Equal(registration.RunnerName, config.RunnerName);
        Assert.Contains(config.EncodedJitConfig, harness.GitHub.Secrets);
        Assert.DoesNotContain(config.EncodedJitConfig, config.ToString(), StringComparison.Ordinal);
        harness.AssertNoSecretLogged();
    }

    [Fact]
    public async Task A_user_installation_registers_on_the_jobs_repository()
    {
        await using var harness = await GitHubAppHarness.StartAsync(s => s["GitHub:WorkFolder"] = "work");
        var registration = GitHubAppHarness.UserRunner();

        await harness.Runners.CreateAsync(registration, CancellationToken.None).Bounded();

        var request = Assert.Single(harness.GitHub.Seen("POST", "generate-jitconfig$"));
        Assert.Equal("/repos/octocat/hello-world/actions/runners/generate-jitconfig", request.Path);
        Assert.Equal(1, request.Json.GetProperty("runner_group_id").GetInt64());
        Assert.Contains("builtiful-2vcpu-ubuntu-2204-arm", request.Json.GetProperty("labels").EnumerateArray().Select(l => l.GetString()));
        Assert.Equal("work", request.Json.GetProperty("work_folder").GetString());
        Assert.Single(harness.GitHub.RunnersIn("repos/octocat/hello-world"));
        Assert.Empty(harness.GitHub.RunnersIn("orgs/octocat"));
    }

    [Fact]
    public async Task A_name_taken_by_our_own_idle_runner_is_freed_and_the_request_retried_once()
    {
        await using var harness = await GitHubAppHarness.StartAsync();
        var registration = GitHubAppHarness.OrgRunner();
        var stale = harness.GitHub.AddRunner("repos/acme/widgets", registration.RunnerName);

        var config = await harness.Runners.CreateAsync(registration, CancellationToken.None).Bounded();

        Assert.NotEmpty(config.EncodedJitConfig);
        Assert.Equal(2, harness.GitHub.Seen("POST", RepoJit).Count);
        var lookup = Assert.Single(harness.GitHub.Seen("GET", "^/repos/acme/widgets/actions/runners$"));
        Assert.Contains("name=" + registration.RunnerName, lookup.Query, StringComparison.Ordinal);
        Assert.Equal($"/repos/acme/widgets/actions/runners/{stale.Id}", Assert.Single(harness.GitHub.Seen("DELETE", "runners/[0-9]+$")).Path);
        var now = Assert.Single(harness.GitHub.RunnersIn("repos/acme/widgets"));
        Assert.NotEqual(stale.Id, now.Id);
    }

    [Fact]
    public async Task A_name_taken_by_a_runner_that_is_not_ours_is_left_alone()
    {
        await using var harness = await GitHubAppHarness.StartAsync();
        var foreign = harness.GitHub.AddRunner("repos/acme/widgets", "ci-box-1");

        var refused = await Assert.ThrowsAsync<GitHubRequestRefusedException>(
            () => harness.Runners.CreateAsync(GitHubAppHarness.OrgRunner("ci-box-1"), CancellationToken.None).Bounded());

        Assert.Equal(HttpStatusCode.Conflict, refused.StatusCode);
        Assert.True(refused.IsPermanent);
        Assert.Contains("not one of Builtiful's", refused.Message, StringComparison.Ordinal);
        Assert.Single(harness.GitHub.Seen("POST", RepoJit));
        Assert.Empty(harness.GitHub.Seen("DELETE", "runners/"));
        Assert.Equal(foreign.Id, Assert.Single(harness.GitHub.RunnersIn("repos/acme/widgets")).Id);
    }

    [Fact]
    public async Task A_name_taken_by_our_runner_that_is_running_a_job_is_not_replaced()
    {
        await using var harness = await GitHubAppHarness.StartAsync();
        var registration = GitHubAppHarness.OrgRunner();
        harness.GitHub.AddRunner("repos/acme/widgets", registration.RunnerName, busy: true);

        var refused = await Assert.ThrowsAsync<GitHubRequestRefusedException>(
            () => harness.Runners.CreateAsync(registration, CancellationToken.None).Bounded());

        Assert.False(refused.IsPermanent);
        Assert.Contains("running a job", refused.Message, StringComparison.Ordinal);
        Assert.Single(harness.GitHub.Seen("POST", RepoJit));
        Assert.Empty(harness.GitHub.Seen("DELETE", "runners/"));
    }

    [Theory]
    [InlineData(403, "Resource not accessible by integration", "\"Administration: read and write\"")]
    [InlineData(404, "Not Found", "not installed there")]
    [InlineData(422, "Validation Failed", "runner group 1")]
    public async Task A_refusal_fails_at_once_with_GitHubs_reason_and_no_retry(int status, string gitHubMessage, string explanation)
    {
        await using var harness = await GitHubAppHarness.StartAsync();
        harness.GitHub.Once("POST", RepoJit, FakeReply.Error(status, gitHubMessage));

        var refused = await Assert.ThrowsAsync<GitHubRequestRefusedException>(
            () => harness.Runners.CreateAsync(GitHubAppHarness.OrgRunner(), CancellationToken.None).Bounded());

        Assert.True(refused.IsPermanent);
        Assert.Equal((HttpStatusCode)status, refused.StatusCode);
        Assert.Equal("POST /repos/acme/widgets/actions/runners/generate-jitconfig", refused.Endpoint);
        Assert.Equal(gitHubMessage, refused.GitHubMessage);
        Assert.StartsWith($"GitHub refused POST /repos/acme/widgets/actions/runners/generate-jitconfig with {status} ", refused.Message, StringComparison.Ordinal);
        Assert.Contains($"\"{gitHubMessage}\"", refused.Message, StringComparison.Ordinal);
        Assert.Contains(explanation, refused.Message, StringComparison.Ordinal);
        Assert.Single(harness.GitHub.Seen("POST", RepoJit));
        harness.AssertNoSecretLogged();
    }

    [Fact]
    public async Task Validation_errors_from_GitHub_are_part_of_the_message()
    {
        await using var harness = await GitHubAppHarness.StartAsync();
        harness.GitHub.Once("POST", RepoJit, new FakeReply(422, JsonSerializer.Serialize(new
        {
            message = "Validation Failed",
            errors = new[] { new { resource = "Runner", field = "runner_group_id", code = "invalid", message = "Runner group 9 does not exist" } },
        })));

        var refused = await Assert.ThrowsAsync<GitHubRequestRefusedException>(
            () => harness.Runners.CreateAsync(GitHubAppHarness.OrgRunner(group: 9), CancellationToken.None).Bounded());

        Assert.Contains("Validation Failed; Runner group 9 does not exist", refused.Message, StringComparison.Ordinal);
    }
}
