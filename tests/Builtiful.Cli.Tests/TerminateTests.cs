namespace Builtiful.Cli.Tests;

/// <summary>
/// <c>terminate</c> against a VM whose runner stays idle, so the lease is live until the operator acts: the job is
/// delivered by hand, so the simulated GitHub, which knows the installation and repository, has no job to give it.
/// </summary>
public sealed class TerminateTests : IAsyncLifetime
{
    private BuiltifulInstance _builtiful = null!;

    public async Task InitializeAsync() => _builtiful = await BuiltifulInstance.StartAsync(new Dictionary<string, string>
    {
        ["Simulation:BootDelay"] = "00:00:00.100",
    });

    public Task DisposeAsync() => _builtiful.StopAsync();

    [Fact]
    public async Task Terminate_waits_until_the_VM_is_gone_and_reports_progress()
    {
        var installationId = Random.Shared.NextInt64(1_000_000, long.MaxValue);
        await _builtiful.KnowInWorldAsync(installationId, "Codertocat", Builtiful.Simulation.GitHub.AccountKind.User, ("Codertocat/Hello-World", false));
        using (var installed = await _builtiful.DeliverAsync("installation", Payloads.Installation("installation.created.1.json", installationId)))
        using (var queued = await _builtiful.DeliverAsync("workflow_job", Payloads.WorkflowJob("workflow_job.queued.5.json", Random.Shared.NextInt64(1_000_000, long.MaxValue), installationId)))
        {
            Assert.True(installed.IsSuccessStatusCode && queued.IsSuccessStatusCode);
        }

        var organisation = await Eventually.Until(() => _builtiful.AdminJsonAsync($"/api/v1/organisations/{installationId}"),
            o => o!.Value.GetProperty("liveLeases").GetInt32() == 1, "a VM is started");
        var leaseId = organisation!.Value.GetProperty("leaseIds")[0].GetString();
        // The VM claims its runner config after boot; only then does GitHub know the runner.
        await Eventually.Until(() => Task.FromResult(_builtiful.World.Runners.Any(r => r.Name == $"builtiful-{Guid.Parse(leaseId!):N}")), known => known,
            "the VM claimed its runner");
        var live = await Cli.RunAsync(_builtiful, "leases", "--org", $"{installationId}");

        var run = await Cli.RunAsync(_builtiful, "terminate", leaseId!, "--reason", "drill");
        var again = await Cli.RunAsync(_builtiful, "terminate", leaseId!);

        Assert.Contains(leaseId!, live.Output, StringComparison.Ordinal);
        Assert.True(run.ExitCode == 0, run.ToString());
        Assert.Equal($"Lease {leaseId}: terminated\n", run.Output);
        Assert.Contains($"terminating lease {leaseId}", run.Error, StringComparison.Ordinal);
        Assert.Contains($"lease {leaseId} is terminat", run.Error, StringComparison.Ordinal);
        var lease = (await _builtiful.AdminJsonAsync($"/api/v1/leases/{leaseId}"))!.Value;
        Assert.Equal("terminated by an operator: drill", lease.GetProperty("endReason").GetString());
        Assert.Equal(1, again.ExitCode);
        Assert.Contains("409 Lease already ended", again.Error, StringComparison.Ordinal);
    }
}
