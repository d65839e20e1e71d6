using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Builtiful.Leases;
using Builtiful.Providers;
using Builtiful.Simulation.GitHub;
using Builtiful.Testing;
using Microsoft.Extensions.DependencyInjection;

namespace Builtiful.Silo.Tests;

/// <summary>
/// The embedded default against its simulated GitHub world, through real HTTP only: the world sends webhooks to the
/// gateway, Builtiful's real App client mints just-in-time runners over the world's REST API, and the judge is the
/// world's own record (jobs, runners, delivery log) and the simulated cloud's VMs, never Builtiful's grain state.
/// </summary>
public sealed class EmbeddedWorldTests : IAsyncLifetime
{
    private const string Label = "builtiful-2vcpu-ubuntu-2404";
    private BuiltifulInstance _builtiful = null!;

    public async Task InitializeAsync() => _builtiful = await BuiltifulInstance.StartAsync(new Dictionary<string, string>
    {
        ["Simulation:BootDelay"] = "00:00:00.100",
        ["Simulation:GitHub:DefaultRunTime"] = "00:00:00.300",
    });

    public async Task DisposeAsync() => await _builtiful.StopAsync();

    [Fact]
    public async Task A_job_queued_in_the_world_runs_on_a_runner_Builtiful_minted_and_its_VM_is_destroyed()
    {
        var (installationId, repository) = await _builtiful.InstallOrganisationAsync();
        var jobId = await _builtiful.World.QueueJobAsync(new JobSpec { Repository = repository, Labels = [Label] });

        var job = await _builtiful.JobCompletes(jobId);
        Assert.Equal(CompletionCause.Ran, job.Cause);
        Assert.Equal("success", job.Conclusion);
        Assert.True(RunnerNames.TryParseLease(job.RunnerName, out var leaseId), $"job ran on {job.RunnerName}, not a Builtiful runner");

        // GitHub's record of the runner exists only because Builtiful asked generate-jitconfig for it over REST.
        var runner = Assert.Single(_builtiful.World.Runners, r => r.Name == job.RunnerName);
        Assert.Equal(installationId, runner.InstallationId);
        // Registered on the job's repository, so it can take no job of a repository Builtiful did not admit.
        Assert.Equal(repository, runner.Repository);
        Assert.Null(runner.RunnerGroupId);
        Assert.Contains(Label, runner.Labels);
        Assert.NotNull(runner.OnlineAt);
        Assert.Equal(jobId, runner.JobId);

        var vm = Assert.Single(_builtiful.Cloud.Vms, v => v.LeaseId == leaseId);
        await Eventually.Until(() => Task.FromResult(vm.State), s => s == InstanceState.Terminated, $"VM {vm.InstanceId} is terminated");
        Assert.True(vm.TerminatedAt >= job.CompletedAt, "the VM outlived its job");
    }

    [Fact]
    public async Task The_world_UI_queues_a_job_over_HTTP_as_the_README_does()
    {
        var (_, repository) = await _builtiful.InstallOrganisationAsync();
        var ui = _builtiful.App.Services.GetRequiredService<Simulation.SimulatedGitHubHost>().UiUrl;
        using var http = new HttpClient();
        using var queued = await http.PostAsJsonAsync(new Uri(ui, "jobs"), new { repository, labels = new[] { Label } });
        Assert.Equal(HttpStatusCode.Created, queued.StatusCode);
        var jobId = (await queued.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetInt64();

        var job = await _builtiful.JobCompletes(jobId);
        Assert.Equal("success", job.Conclusion);
        var jobs = await http.GetFromJsonAsync<JsonElement>(new Uri(ui, "jobs"));
        Assert.Contains(jobs.EnumerateArray(), j => j.GetProperty("id").GetInt64() == jobId);
    }
}

/// <summary>
/// Every first attempt of every delivery is lost on the way (the world's drop fault): only Builtiful's delivery
/// recovery, asking the world's <c>/app/hook/deliveries</c> API for failed deliveries and their redelivery, brings them.
/// </summary>
public sealed class EmbeddedWorldRecoveryTests : IAsyncLifetime
{
    private BuiltifulInstance _builtiful = null!;

    public async Task InitializeAsync() => _builtiful = await BuiltifulInstance.StartAsync(new Dictionary<string, string>
    {
        ["Simulation:BootDelay"] = "00:00:00.100",
        ["Simulation:GitHub:DefaultRunTime"] = "00:00:00.300",
        ["Simulation:GitHub:DeliveryDropRate"] = "1",
        ["GitHub:Redelivery:Period"] = "00:00:01",
    });

    public async Task DisposeAsync() => await _builtiful.StopAsync();

    [Fact]
    public async Task Deliveries_the_world_dropped_come_back_through_delivery_recovery_and_the_job_runs()
    {
        var (_, repository) = await _builtiful.InstallOrganisationAsync();
        var jobId = await _builtiful.World.QueueJobAsync(new JobSpec { Repository = repository, Labels = ["builtiful-2vcpu-ubuntu-2404"] });

        var job = await _builtiful.JobCompletes(jobId, TimeSpan.FromSeconds(90));
        Assert.Equal("success", job.Conclusion);
        Assert.True(RunnerNames.TryParseLease(job.RunnerName, out _), $"job ran on {job.RunnerName}, not a Builtiful runner");

        var queued = _builtiful.World.Deliveries.Where(d => d.JobId == jobId && d.Action == "queued").ToList();
        Assert.Contains(queued, d => !d.Redelivery && d.StatusCode is < 200 or >= 300);
        Assert.Contains(queued, d => d.Redelivery && d.StatusCode is >= 200 and < 300);
        Assert.True(_builtiful.World.Redelivered >= 1);
        Assert.True(_builtiful.World.Faults.GetValueOrDefault("github.dropped-delivery") >= 1);
    }
}
