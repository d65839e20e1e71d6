using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text.Json;
using System.Text.Json.Nodes;
using Builtiful.Providers;
using Builtiful.Simulation;
using Microsoft.Extensions.DependencyInjection;

namespace Builtiful.Silo.Tests;

/// <summary>
/// Which jobs a VM's runner can take, and what happens to a VM that is gone, judged by the fake GitHub's record of every
/// REST call and the simulated cloud's VMs. The all-in-one runs in App mode against the fake; no simulated runner picks
/// jobs: the tests send <c>in_progress</c> and <c>completed</c> themselves, signed as GitHub signs them.
/// </summary>
public sealed class RunnerScopeAndVmLossTests : IAsyncLifetime
{
    private const string Machine = "builtiful-2vcpu-ubuntu-2404";
    private readonly RSA _key = RSA.Create(2048);
    private readonly string _keyPath = Path.Combine(Path.GetTempPath(), $"builtiful-app-{Guid.NewGuid():N}.pem");
    private GitHubFake _gitHub = null!;
    private BuiltifulInstance _builtiful = null!;

    private SimulatedComputeProvider Cloud => _builtiful.App.Services.GetRequiredService<SimulatedComputeProvider>();

    public async Task InitializeAsync()
    {
        await File.WriteAllTextAsync(_keyPath, _key.ExportPkcs8PrivateKeyPem());
        _gitHub = await GitHubFake.StartAsync(_key, TimeProvider.System);
        _builtiful = await BuiltifulInstance.StartAsync(new Dictionary<string, string>
        {
            ["GitHub:Mode"] = "App",
            ["GitHub:ApiUrl"] = _gitHub.ApiUrl.ToString(),
            ["GitHub:AppId"] = GitHubFake.AppId.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["GitHub:PrivateKeyPath"] = _keyPath,
            ["Simulation:BootDelay"] = "00:00:00.100",
            ["Leases:CheckPeriod"] = "00:00:01",
            ["Leases:TerminationPollInterval"] = "00:00:00.200",
        });
    }

    public async Task DisposeAsync()
    {
        await _builtiful.StopAsync();
        await _gitHub.DisposeAsync();
        File.Delete(_keyPath);
        _key.Dispose();
    }

    [Fact]
    public async Task An_organisations_runner_is_registered_on_the_repository_of_its_job_not_on_the_organisation()
    {
        var (installationId, login) = await InstallOrganisationAsync();
        var jobId = NewId();

        await DeliverJobAsync("workflow_job.queued.5.json", jobId, installationId, $"{login}/app");

        var leaseId = await LeaseOfAsync(installationId, jobId);
        var jit = Assert.Single(await Eventually.Until(() => Task.FromResult(_gitHub.Seen("POST", "/generate-jitconfig$")), r => r.Count == 1, "the JIT config is requested"));
        Assert.Equal($"/repos/{login}/app/actions/runners/generate-jitconfig", jit.Path);
        Assert.Equal($"builtiful-{leaseId:N}", jit.Json.GetProperty("name").GetString());
        Assert.Equal([Machine], jit.Json.GetProperty("labels").EnumerateArray().Select(l => l.GetString()));
        Assert.Contains(_gitHub.RunnersIn($"repos/{login}/app"), r => r.Name == $"builtiful-{leaseId:N}");
        Assert.Empty(_gitHub.RunnersIn($"orgs/{login}"));
        Assert.Empty(_gitHub.Seen("POST", "^/orgs/"));
    }

    [Fact]
    public async Task A_runner_reported_running_a_job_the_policy_now_refuses_loses_its_VM_at_once()
    {
        var (installationId, login) = await InstallOrganisationAsync();
        var jobId = NewId();
        await DeliverJobAsync("workflow_job.queued.5.json", jobId, installationId, $"{login}/app");
        var leaseId = await LeaseOfAsync(installationId, jobId);
        var instanceId = await InstanceOfRunningLeaseAsync(leaseId);

        // The operator narrows the allow-list after the runner was registered.
        using (var put = await AdminSendAsync(HttpMethod.Put, $"/api/v1/organisations/{installationId}/repository-policy", new { allowedRepositories = new[] { $"{login}/other" } }))
        {
            Assert.Equal(HttpStatusCode.OK, put.StatusCode);
        }

        await DeliverJobAsync("workflow_job.in_progress.3.json", jobId, installationId, $"{login}/app", runnerName: $"builtiful-{leaseId:N}");

        var vm = await Eventually.Until(() => Task.FromResult(Cloud.Vms.Single(v => v.InstanceId == instanceId)), v => v.State == InstanceState.Terminated, "the refused runner's VM is terminated");
        Assert.Equal(leaseId, vm.LeaseId);
        var lease = await Eventually.Until(() => LeaseAsync(leaseId), l => l.GetProperty("phase").GetString() == "terminated", "the lease ends");
        var reason = lease.GetProperty("endReason").GetString();
        Assert.Contains($"job {jobId}", reason, StringComparison.Ordinal);
        Assert.Contains("policy refuses", reason, StringComparison.Ordinal);
        Assert.Contains($"{login}/app", reason, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_VM_whose_job_was_cancelled_is_not_handed_to_a_waiting_job_of_another_repository()
    {
        var (installationId, login) = await InstallOrganisationAsync(maxVms: 1);
        var first = NewId();
        var second = NewId();
        await DeliverJobAsync("workflow_job.queued.5.json", first, installationId, $"{login}/app");
        var firstLease = await LeaseOfAsync(installationId, first);
        var firstVm = await InstanceOfRunningLeaseAsync(firstLease);
        await DeliverJobAsync("workflow_job.queued.5.json", second, installationId, $"{login}/site");
        Assert.Equal(second, (await OrganisationAsync(installationId)).GetProperty("waitingJobIds")[0].GetInt64());

        await DeliverJobAsync("workflow_job.completed.1.json", first, installationId, $"{login}/app", conclusion: "cancelled");

        // GitHub would never give the first runner (registered on app) a job of site: site gets a runner of its own.
        var jits = await Eventually.Until(() => Task.FromResult(_gitHub.Seen("POST", "/generate-jitconfig$")), r => r.Count == 2, "a second runner is registered");
        Assert.Equal($"/repos/{login}/site/actions/runners/generate-jitconfig", jits[1].Path);
        Assert.NotEqual($"builtiful-{firstLease:N}", jits[1].Json.GetProperty("name").GetString());
        Assert.Equal(InstanceState.Terminated, Cloud.Vms.Single(v => v.InstanceId == firstVm).State);
        Assert.NotEmpty(_gitHub.Seen("DELETE", $"^/repos/{login}/app/actions/runners/[0-9]+$"));
        var secondLease = await LeaseOfAsync(installationId, second);
        Assert.NotEqual(firstLease, secondLease);
        Assert.Contains(Cloud.Vms, v => v.LeaseId == secondLease);
    }

    [Fact]
    public async Task A_VM_whose_job_was_cancelled_serves_a_waiting_job_its_runner_can_take()
    {
        var (installationId, login) = await InstallOrganisationAsync(maxVms: 1);
        var first = NewId();
        var second = NewId();
        await DeliverJobAsync("workflow_job.queued.5.json", first, installationId, $"{login}/app", labels: [Machine, "gpu"]);
        var firstLease = await LeaseOfAsync(installationId, first);
        var firstVm = await InstanceOfRunningLeaseAsync(firstLease);
        await DeliverJobAsync("workflow_job.queued.5.json", second, installationId, $"{login}/app");

        await DeliverJobAsync("workflow_job.completed.1.json", first, installationId, $"{login}/app", conclusion: "cancelled");

        // Same repository, and the waiting job's labels are among the runner's: the VM is handed on, no new runner.
        var organisation = await Eventually.Until(() => OrganisationAsync(installationId), o => o.GetProperty("waitingJobs").GetInt32() == 0, "the waiting job is served");
        Assert.Equal(firstLease.ToString(), organisation.GetProperty("leaseIds")[0].GetString());
        // The VM claims its runner config after boot, which may come after the hand-on: one runner, minted once.
        var jits = await Eventually.Until(() => Task.FromResult(_gitHub.Seen("POST", "/generate-jitconfig$")), r => r.Count > 0, "the VM claims its runner config");
        Assert.Single(jits);
        Assert.Equal(InstanceState.Running, Cloud.Vms.Single(v => v.InstanceId == firstVm).State);
        Assert.Single(Cloud.Vms, v => v.Tags[InstanceTags.Installation] == installationId.ToString(System.Globalization.CultureInfo.InvariantCulture));
    }

    [Fact]
    public async Task A_job_whose_VM_another_job_took_gets_a_new_VM_when_the_other_jobs_VM_cannot_run_it()
    {
        var (installationId, login) = await InstallOrganisationAsync(maxVms: 2);
        var plain = NewId();
        var gpu = NewId();
        await DeliverJobAsync("workflow_job.queued.5.json", plain, installationId, $"{login}/app");
        var plainLease = await LeaseOfAsync(installationId, plain);
        var plainVm = await InstanceOfRunningLeaseAsync(plainLease);
        await DeliverJobAsync("workflow_job.queued.5.json", gpu, installationId, $"{login}/app", labels: [Machine, "gpu"]);
        var gpuLease = await LeaseOfAsync(installationId, gpu);
        await InstanceOfRunningLeaseAsync(gpuLease);

        // GitHub gives the plain job to the gpu runner (it has every label the plain job asks for); the plain runner lacks gpu.
        await DeliverJobAsync("workflow_job.in_progress.3.json", plain, installationId, $"{login}/app", runnerName: $"builtiful-{gpuLease:N}");

        await Eventually.Until(() => Task.FromResult(Cloud.Vms.Single(v => v.InstanceId == plainVm).State), s => s == InstanceState.Terminated, "the plain VM, useless to the gpu job, goes");
        var jits = await Eventually.Until(() => Task.FromResult(_gitHub.Seen("POST", "/generate-jitconfig$")), r => r.Count == 3, "the gpu job gets a runner of its own again");
        Assert.Equal([Machine, "gpu"], jits[2].Json.GetProperty("labels").EnumerateArray().Select(l => l.GetString()).Order(StringComparer.Ordinal));
        var gpuAgain = await LeaseOfAsync(installationId, gpu, except: gpuLease);
        Assert.NotEqual(plainLease, gpuAgain);
        Assert.Equal($"builtiful-{gpuAgain:N}", jits[2].Json.GetProperty("name").GetString());
    }

    [Fact]
    public async Task A_busy_VM_that_disappears_ends_its_lease_removes_its_runner_and_frees_its_slot()
    {
        var (installationId, login) = await InstallOrganisationAsync(maxVms: 1);
        var jobId = NewId();
        await DeliverJobAsync("workflow_job.queued.5.json", jobId, installationId, $"{login}/app");
        var leaseId = await LeaseOfAsync(installationId, jobId);
        var instanceId = await InstanceOfRunningLeaseAsync(leaseId);
        await DeliverJobAsync("workflow_job.in_progress.3.json", jobId, installationId, $"{login}/app", runnerName: $"builtiful-{leaseId:N}");
        await Eventually.Until(() => LeaseAsync(leaseId), l => l.GetProperty("phase").GetString() == "busy", "the lease is busy");
        var waiting = NewId();
        await DeliverJobAsync("workflow_job.queued.5.json", waiting, installationId, $"{login}/app");
        var describesBefore = Cloud.DescribeManyCalls;

        // Terminated out of band, and its completed is never sent: only the organisation's look at the cloud can notice.
        await Cloud.TerminateAsync(instanceId, CancellationToken.None);

        var lease = await Eventually.Until(() => LeaseAsync(leaseId), l => l.GetProperty("phase").GetString() == "terminated", "the lease of the vanished VM ends", TimeSpan.FromSeconds(30));
        Assert.Contains("the VM disappeared", lease.GetProperty("endReason").GetString(), StringComparison.Ordinal);
        Assert.Contains(instanceId, lease.GetProperty("endReason").GetString(), StringComparison.Ordinal);
        Assert.True(Cloud.DescribeManyCalls > describesBefore);
        Assert.Contains(_gitHub.Seen("GET", $"^/repos/{login}/app/actions/runners$"), r => r.Query.Contains($"name=builtiful-{leaseId:N}", StringComparison.Ordinal));
        Assert.DoesNotContain(_gitHub.RunnersIn($"repos/{login}/app"), r => r.Name == $"builtiful-{leaseId:N}");

        // The slot is free again: the waiting job gets a VM of its own.
        var next = await LeaseOfAsync(installationId, waiting);
        Assert.NotEqual(leaseId, next);
        await Eventually.Until(() => Task.FromResult(Cloud.Vms.Where(v => v.LeaseId == next).ToList()), vms => vms.Count == 1, "the waiting job's VM is launched");
    }

    private static long NewId() => Random.Shared.NextInt64(1_000_000, long.MaxValue);

    private async Task<(long InstallationId, string Login)> InstallOrganisationAsync(int? maxVms = null)
    {
        var installationId = NewId();
        var login = "acme-" + Guid.NewGuid().ToString("N")[..8];
        var payload = JsonNode.Parse(Payloads.Installation("installation.created.1.json", installationId))!;
        payload["installation"]!["account"]!["login"] = login;
        payload["installation"]!["account"]!["type"] = "Organization";
        using (var response = await _builtiful.DeliverAsync("installation", payload.ToJsonString()))
        {
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        }

        if (maxVms is { } max)
        {
            using var limits = await AdminSendAsync(HttpMethod.Put, $"/api/v1/organisations/{installationId}/limits", new { maxConcurrentVms = max });
            Assert.Equal(HttpStatusCode.OK, limits.StatusCode);
        }

        return (installationId, login);
    }

    private async Task DeliverJobAsync(string fixture, long jobId, long installationId, string repository, string? runnerName = null,
        string? conclusion = null, string[]? labels = null)
    {
        var payload = JsonNode.Parse(Payloads.WorkflowJob(fixture, jobId, installationId, Machine, runnerName, repository: repository))!;
        if (labels is not null)
        {
            payload["workflow_job"]!["labels"] = new JsonArray([.. labels.Select(l => JsonValue.Create(l))]);
        }

        if (conclusion is not null)
        {
            payload["workflow_job"]!["conclusion"] = conclusion;
        }

        using var response = await _builtiful.DeliverAsync("workflow_job", payload.ToJsonString());
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }

    /// <summary>The lease the organisation holds for a job, by the simulated cloud's and the admin API's record.</summary>
    private async Task<Guid> LeaseOfAsync(long installationId, long jobId, Guid? except = null) =>
        await Eventually.Until(
            async () =>
            {
                foreach (var id in (await OrganisationAsync(installationId)).GetProperty("leaseIds").EnumerateArray())
                {
                    var lease = await LeaseAsync(Guid.Parse(id.GetString()!));
                    if (Guid.Parse(id.GetString()!) != except && lease.GetProperty("launchedForJobId").GetInt64() == jobId && lease.GetProperty("phase").GetString() is not ("terminating" or "terminated" or "failed"))
                    {
                        return Guid.Parse(id.GetString()!);
                    }
                }

                return Guid.Empty;
            },
            id => id != Guid.Empty,
            $"a lease is started for job {jobId}");

    private async Task<string> InstanceOfRunningLeaseAsync(Guid leaseId)
    {
        var lease = await Eventually.Until(() => LeaseAsync(leaseId), l => l.GetProperty("phase").GetString() == "idle", $"lease {leaseId} is idle");
        var instanceId = lease.GetProperty("instanceId").GetString()!;
        Assert.Equal(InstanceState.Running, Cloud.Vms.Single(v => v.InstanceId == instanceId).State);
        return instanceId;
    }

    private async Task<JsonElement> LeaseAsync(Guid leaseId) => (await _builtiful.AdminJsonAsync($"/api/v1/leases/{leaseId}"))!.Value;

    private async Task<JsonElement> OrganisationAsync(long installationId) => (await _builtiful.AdminJsonAsync($"/api/v1/organisations/{installationId}"))!.Value;

    private Task<HttpResponseMessage> AdminSendAsync(HttpMethod method, string path, object body)
    {
        var request = new HttpRequestMessage(method, path) { Content = JsonContent.Create(body) };
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", BuiltifulInstance.AdminToken);
        return _builtiful.Http.SendAsync(request);
    }
}
