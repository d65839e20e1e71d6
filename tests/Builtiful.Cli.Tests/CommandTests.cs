using Builtiful.Usage;

namespace Builtiful.Cli.Tests;

/// <summary>The commands against a running all-in-one whose simulated runners take and finish jobs within a second.</summary>
public sealed class CommandTests(CommandTests.Host host) : IClassFixture<CommandTests.Host>, IDisposable
{
    private const string Label = "builtiful-2vcpu-ubuntu-2404";
    private readonly string _folder = Directory.CreateTempSubdirectory("builtiful-cli-").FullName;

    public sealed class Host : IAsyncLifetime
    {
        public BuiltifulInstance Builtiful { get; private set; } = null!;

        public async Task InitializeAsync() => Builtiful = await BuiltifulInstance.StartAsync(new Dictionary<string, string>
        {
            ["Simulation:BootDelay"] = "00:00:00.200",
            ["Simulation:GitHub:DefaultRunTime"] = "00:00:00.300",
        });

        public Task DisposeAsync() => Builtiful.StopAsync();
    }

    private BuiltifulInstance Builtiful => host.Builtiful;

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    [Fact]
    public async Task Replay_sends_signed_deliveries_that_the_gateway_accepts()
    {
        var installationId = Random.Shared.NextInt64(1_000_000, long.MaxValue);
        var payload = await WriteAsync("installation.json", Payloads.Installation("installation.created.1.json", installationId));

        var replayed = await Cli.RunAsync(Builtiful, "replay", "installation", payload);
        var orgs = await Cli.RunAsync(Builtiful, "orgs", "--status", "active", "--limit", "200");

        Assert.True(replayed.ExitCode == 0, replayed.ToString());
        Assert.Contains("200 {\"event\":\"installation\",\"action\":\"created\",\"outcome\":\"applied\"}", replayed.Output, StringComparison.Ordinal);
        Assert.True(orgs.ExitCode == 0, orgs.ToString());
        Assert.Contains(orgs.Output.Split('\n'), line => line.StartsWith($"{installationId} ", StringComparison.Ordinal) && line.Contains("active", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Replay_with_the_wrong_secret_is_refused_and_says_so()
    {
        var payload = await WriteAsync("installation.json", Payloads.Installation("installation.created.1.json", 77));

        var run = await Cli.RunAsync(["replay", "installation", payload, "--url", Builtiful.BaseAddress.ToString(), "--secret", "not-the-secret"]);

        Assert.Equal(1, run.ExitCode);
        Assert.Contains("401 Bad signature", run.Error, StringComparison.Ordinal);
        Assert.Null(await Builtiful.AdminJsonAsync("/api/v1/organisations/77"));
    }

    [Fact]
    public async Task Usage_jobs_and_leases_show_a_job_that_ran_with_progress_over_several_files()
    {
        var installationId = Random.Shared.NextInt64(1_000_000, long.MaxValue);
        var jobId = Random.Shared.NextInt64(1_000_000, long.MaxValue);
        var install = await WriteAsync("installation.json", Payloads.Installation("installation.created.1.json", installationId));
        var queued = await WriteAsync("queued.json", Payloads.WorkflowJob("workflow_job.queued.5.json", jobId, installationId, Label));
        Assert.Equal(0, (await Cli.RunAsync(Builtiful, "replay", "installation", install)).ExitCode);
        var replay = await Cli.RunAsync(Builtiful, "replay", "workflow_job", queued, queued);
        Assert.True(replay.ExitCode == 0, replay.ToString());
        Assert.Contains("[2/2] queued.json: HTTP 200", replay.Error, StringComparison.Ordinal);

        await Eventually.Until(() => Builtiful.AdminJsonAsync($"/api/v1/organisations/{installationId}/usage"),
            u => u!.Value.GetProperty("jobs").GetInt32() == 1, "the job is billed");
        var usage = await Cli.RunAsync(Builtiful, "usage", $"{installationId}");
        var csv = await Cli.RunAsync(Builtiful, "usage", $"{installationId}", "--csv", "--month", UsageMonth.Of(DateTimeOffset.UtcNow));
        var jobs = await Cli.RunAsync(Builtiful, "jobs", "--org", $"{installationId}", "--status", "completed");
        var job = await Cli.RunAsync(Builtiful, "jobs", $"{jobId}");
        var leases = await Cli.RunAsync(Builtiful, "leases", "--org", $"{installationId}", "--phase", "terminated");

        Assert.True(usage.ExitCode == 0, usage.ToString());
        Assert.Contains($"Installation {installationId}, {UsageMonth.Of(DateTimeOffset.UtcNow)}: 1 jobs, 1 billable minutes", usage.Output, StringComparison.Ordinal);
        Assert.Matches($"{Label} +1 +1", usage.Output);
        Assert.Equal($"month,installation_id,machine_type,jobs,minutes\n{UsageMonth.Of(DateTimeOffset.UtcNow)},{installationId},{Label},1,1\n", csv.Output);
        Assert.Matches($"(?m)^{jobId} +completed +success +{Label} ", jobs.Output);
        Assert.Contains("\"headSha\": \"3484a3fb816e0859fd6e1cea078d76385ff50625\"", job.Output, StringComparison.Ordinal);
        var leaseId = System.Text.Json.JsonDocument.Parse(job.Output).RootElement.GetProperty("leaseId").GetString();
        Assert.Matches($"(?m)^{leaseId} +terminated +{installationId} +{Label} +{jobId} ", leases.Output);
    }

    [Fact]
    public async Task Suspend_and_resume_hold_an_installation_and_lift_the_hold()
    {
        var installationId = Random.Shared.NextInt64(1_000_000, long.MaxValue);
        Assert.Equal(0, (await Cli.RunAsync(Builtiful, "replay", "installation", await WriteAsync("i.json", Payloads.Installation("installation.created.1.json", installationId)))).ExitCode);

        var suspended = await Cli.RunAsync(Builtiful, "orgs", "suspend", $"{installationId}", "--reason", "abuse report 7");
        var held = await Cli.RunAsync(Builtiful, "orgs", "--limit", "200");
        var resumed = await Cli.RunAsync(Builtiful, "orgs", "resume", $"{installationId}");
        var limits = await Cli.RunAsync(Builtiful, "orgs", "limits", $"{installationId}", "--max-vms", "4");
        var unknown = await Cli.RunAsync(Builtiful, "orgs", "suspend", "424242");

        Assert.Equal($"Installation {installationId} is suspended by an operator: abuse report 7\n", suspended.Output);
        Assert.Matches($"(?m)^{installationId} +Codertocat +active +abuse report 7 ", held.Output);
        Assert.Equal(0, resumed.ExitCode);
        Assert.Contains("\"maxConcurrentVms\": 4", limits.Output, StringComparison.Ordinal);
        Assert.Equal(1, unknown.ExitCode);
        Assert.Contains("404 Organisation not found", unknown.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Repos_shows_and_changes_the_repository_policy_and_a_public_job_then_gets_a_VM()
    {
        var installationId = Random.Shared.NextInt64(1_000_000, long.MaxValue);
        var publicJob = Random.Shared.NextInt64(1_000_000, long.MaxValue);
        Assert.Equal(0, (await Cli.RunAsync(Builtiful, "replay", "installation", await WriteAsync("i.json", Payloads.Installation("installation.created.1.json", installationId)))).ExitCode);

        var before = await Cli.RunAsync(Builtiful, "orgs", "repos", $"{installationId}");
        var changed = await Cli.RunAsync(Builtiful, "orgs", "repos", $"{installationId}", "--allow-repo", "Codertocat/Hello-World", "octo-org/web", "--public", "allow");
        var bad = await Cli.RunAsync(Builtiful, "orgs", "repos", $"{installationId}", "--allow-repo", "not-a-repository");
        var queued = await Cli.RunAsync(Builtiful, "replay", "workflow_job",
            await WriteAsync("q.json", Payloads.WorkflowJob("workflow_job.queued.5.json", publicJob, installationId, Label, visibility: null)));
        var cleared = await Cli.RunAsync(Builtiful, "orgs", "repos", $"{installationId}", "--allow-repo", "all", "--public", "refuse");

        Assert.Equal($"Installation {installationId}:\n  repositories: all repositories of the installation\n  public repositories: refused\n", before.Output);
        Assert.True(changed.ExitCode == 0, changed.ToString());
        Assert.Equal($"Installation {installationId}:\n  repositories: only Codertocat/Hello-World, octo-org/web\n  public repositories: allowed\n", changed.Output);
        Assert.Equal(1, bad.ExitCode);
        Assert.Contains("400 Invalid repository policy: 'not-a-repository' is not a repository full name", bad.Error, StringComparison.Ordinal);
        Assert.Contains("\"outcome\":\"applied\"", queued.Output, StringComparison.Ordinal);
        // The simulated runner on the VM launched for it takes the job, as GitHub's runner would.
        await Eventually.Until(async () => (await Builtiful.AdminJsonAsync($"/api/v1/jobs/{publicJob}"))!.Value,
            job => job.GetProperty("leaseId").ValueKind == System.Text.Json.JsonValueKind.String, "the public job runs on a VM of ours");
        Assert.Contains("all repositories of the installation", cleared.Output, StringComparison.Ordinal);
        Assert.Contains("public repositories: refused", cleared.Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Sweep_reports_and_a_wrong_token_or_an_unreachable_gateway_fails_clearly()
    {
        var sweep = await Cli.RunAsync(Builtiful, "sweep");
        var wrongToken = await Cli.RunAsync(["orgs", "--url", Builtiful.BaseAddress.ToString(), "--token", "guess"]);
        var unreachable = await Cli.RunAsync(["orgs", "--url", $"http://127.0.0.1:{BuiltifulInstance.FreePort()}", "--token", "x"]);

        Assert.True(sweep.ExitCode == 0, sweep.ToString());
        Assert.StartsWith("Simulated: examined ", sweep.Output, StringComparison.Ordinal);
        Assert.Equal(1, wrongToken.ExitCode);
        Assert.Contains("401 Unauthorized", wrongToken.Error, StringComparison.Ordinal);
        Assert.Equal(1, unreachable.ExitCode);
        Assert.Contains("Cannot reach Builtiful", unreachable.Error, StringComparison.Ordinal);
    }

    private async Task<string> WriteAsync(string name, string json)
    {
        var path = Path.Combine(_folder, name);
        await File.WriteAllTextAsync(path, json);
        return path;
    }
}
