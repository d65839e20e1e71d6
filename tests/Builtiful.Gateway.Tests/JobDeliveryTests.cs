using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using System.Text.Json.Nodes;
using Builtiful.Leases;
using Builtiful.Providers;
using Builtiful.Simulation;
using Builtiful.Simulation.GitHub;
using Builtiful.Testing;
using Microsoft.Extensions.DependencyInjection;

namespace Builtiful.Gateway.Tests;

/// <summary>
/// GitHub's real job lifecycles through the gateway, judged by the simulated cloud's record of VMs: an environment
/// approval, a job racing its installation's <c>installation.created</c>, and a job taken by our runner whose labels name
/// none of our machine types. The world knows each installation and repository, so VMs are really minted runners, but the
/// tests play GitHub's deliveries by hand: the world has no job to give those runners, which stay idle.
/// </summary>
public sealed class JobDeliveryTests(JobDeliveryTests.Host builtiful) : IClassFixture<JobDeliveryTests.Host>
{
    public sealed class Host : RunningBuiltiful
    {
        protected override IReadOnlyDictionary<string, string> Settings => new Dictionary<string, string>
        {
            ["Simulation:BootDelay"] = "00:00:00.100",
        };
    }

    private SimulatedComputeProvider Cloud => builtiful.Services.GetRequiredService<SimulatedComputeProvider>();

    [Fact]
    public async Task A_job_waiting_for_approval_gets_no_VM_until_it_is_queued_and_then_exactly_one()
    {
        var (installationId, repository) = await InstallAsync();
        var jobId = NewId();

        Assert.Equal("applied", await DeliverAsync("workflow_job", Payloads.WorkflowJob("workflow_job.waiting.7.json", jobId, installationId, repository: repository)));
        Assert.Equal("ignored", await DeliverAsync("workflow_job", Payloads.WorkflowJob("workflow_job.waiting.7.json", jobId, installationId, repository: repository)));

        var waiting = await JobAsync(jobId);
        Assert.Equal("waiting", waiting.GetProperty("status").GetString());
        Assert.True(waiting.GetProperty("awaitingApproval").GetBoolean());
        Assert.False(waiting.GetProperty("rejected").GetBoolean());
        var organisation = (await builtiful.AdminJsonAsync($"/api/v1/organisations/{installationId}"))!.Value;
        Assert.Empty(organisation.GetProperty("leaseIds").EnumerateArray());
        Assert.Empty(VmsFor(jobId));

        Assert.Equal("applied", await DeliverAsync("workflow_job", Payloads.WorkflowJob("workflow_job.queued.5.json", jobId, installationId, repository: repository)));

        var vm = await Eventually.Until(() => Task.FromResult(VmsFor(jobId)), vms => vms.Count > 0, $"a VM is launched for approved job {jobId}");
        var queued = await JobAsync(jobId);
        Assert.Equal("queued", queued.GetProperty("status").GetString());
        Assert.False(queued.GetProperty("awaitingApproval").GetBoolean());

        // A late or redelivered waiting after the approval changes nothing.
        Assert.Equal("ignored", await DeliverAsync("workflow_job", Payloads.WorkflowJob("workflow_job.waiting.7.json", jobId, installationId, repository: repository)));
        Assert.Equal("queued", (await JobAsync(jobId)).GetProperty("status").GetString());
        Assert.Single(vm);
        Assert.Single(VmsFor(jobId));
        Assert.Single((await builtiful.AdminJsonAsync($"/api/v1/organisations/{installationId}"))!.Value.GetProperty("leaseIds").EnumerateArray());
    }

    [Fact]
    public async Task Jobs_queued_before_their_installation_is_created_are_kept_and_get_VMs_when_it_is()
    {
        var installationId = NewId();
        var repository = NewRepository();
        long[] jobs = [NewId(), NewId()];
        foreach (var jobId in jobs)
        {
            Assert.StartsWith("applied", await DeliverAsync("workflow_job", Payloads.WorkflowJob("workflow_job.queued.5.json", jobId, installationId, repository: repository)), StringComparison.Ordinal);
            var parked = await JobAsync(jobId);
            Assert.False(parked.GetProperty("rejected").GetBoolean());
            Assert.Equal(JsonValueKind.Null, parked.GetProperty("rejectionReason").ValueKind);
            Assert.Equal("queued", parked.GetProperty("status").GetString());
        }

        Assert.All(jobs, jobId => Assert.Empty(VmsFor(jobId)));

        await InstallAsync(installationId, repository);

        foreach (var jobId in jobs)
        {
            await Eventually.Until(() => Task.FromResult(VmsFor(jobId)), vms => vms.Count > 0, $"parked job {jobId} gets a VM once its installation is created");
        }

        Assert.All(jobs, jobId => Assert.Single(VmsFor(jobId)));
        var organisation = (await builtiful.AdminJsonAsync($"/api/v1/organisations/{installationId}"))!.Value;
        Assert.Equal(2, organisation.GetProperty("leaseIds").GetArrayLength());
        foreach (var jobId in jobs)
        {
            Assert.False((await JobAsync(jobId)).GetProperty("rejected").GetBoolean());
        }
    }

    [Fact]
    public async Task A_job_without_our_labels_that_one_of_our_runners_takes_binds_the_lease_which_ends_after_it()
    {
        var (installationId, repository) = await InstallAsync();
        var ours = NewId();
        Assert.Equal("applied", await DeliverAsync("workflow_job", Payloads.WorkflowJob("workflow_job.queued.5.json", ours, installationId, repository: repository)));
        var vm = (await Eventually.Until(() => Task.FromResult(VmsFor(ours)), vms => vms.Count > 0, $"a VM is launched for job {ours}")).Single();
        var runner = RunnerNames.ForLease(vm.LeaseId);

        // runs-on: self-hosted matches every JIT runner, ours included: the runner made for one job takes this other one.
        var stranger = NewId();
        Assert.Equal("applied", await DeliverAsync("workflow_job", Payloads.WorkflowJob("workflow_job.in_progress.0.json", stranger, installationId, label: "self-hosted", runnerName: runner, repository: repository)));
        var lease = (await builtiful.AdminJsonAsync($"/api/v1/leases/{vm.LeaseId}"))!.Value;
        Assert.Equal(stranger, lease.GetProperty("jobId").GetInt64());
        Assert.Equal(vm.LeaseId.ToString(), (await JobAsync(stranger)).GetProperty("leaseId").GetString());

        Assert.Equal("applied", await DeliverAsync("workflow_job", Payloads.WorkflowJob("workflow_job.completed.1.json", stranger, installationId, label: "self-hosted", runnerName: runner, repository: repository)));

        await Eventually.Until(() => Task.FromResult(vm.TerminatedAt), t => t is not null, $"VM {vm.InstanceId} is terminated after the job it ran");
        var job = await JobAsync(stranger);
        Assert.Equal("completed", job.GetProperty("status").GetString());
        Assert.Equal(JsonValueKind.Null, job.GetProperty("machineType").ValueKind);
        Assert.Empty(VmsFor(stranger));
    }

    [Fact]
    public async Task A_job_without_our_labels_on_someone_elses_runner_is_still_not_ours()
    {
        var (installationId, repository) = await InstallAsync();
        var jobId = NewId();

        var outcome = await DeliverAsync("workflow_job", Payloads.WorkflowJob("workflow_job.in_progress.0.json", jobId, installationId, label: "self-hosted", runnerName: "my-own-runner", repository: repository));

        Assert.StartsWith("ignored", outcome, StringComparison.Ordinal);
        Assert.Null(await builtiful.AdminJsonAsync($"/api/v1/jobs/{jobId}"));
    }

    private List<SimulatedVm> VmsFor(long jobId) =>
        [.. Cloud.Vms.Where(v => v.Tags.GetValueOrDefault(InstanceTags.Job) == jobId.ToString(CultureInfo.InvariantCulture))];

    private async Task<JsonElement> JobAsync(long jobId) => (await builtiful.AdminJsonAsync($"/api/v1/jobs/{jobId}"))!.Value;

    /// <summary>
    /// Installs the recorded installation (user Codertocat) under a new id: the world learns it and a new private
    /// repository of it, where the test's jobs run, then the hand-made <c>installation.created</c> is delivered.
    /// </summary>
    private async Task<(long InstallationId, string Repository)> InstallAsync(long? installationId = null, string? repository = null)
    {
        var id = installationId ?? NewId();
        repository ??= NewRepository();
        await builtiful.KnowInWorldAsync(id, Login, AccountKind.User, (repository, false));
        Assert.Equal("applied", await DeliverAsync("installation", Payloads.Installation("installation.created.1.json", id, Login)));
        return (id, repository);
    }

    private async Task<string> DeliverAsync(string @event, string body)
    {
        using var response = await builtiful.DeliverAsync(@event, body);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("outcome").GetString()!;
    }

    /// <summary>The account of the recorded <c>installation.created</c>, a user.</summary>
    private const string Login = "Codertocat";

    /// <summary>Repository names are unique in the world, which outlives every test of this class.</summary>
    private static string NewRepository() => $"{Login}/hello-{Guid.NewGuid():N}";

    private static long NewId() => Random.Shared.NextInt64(1_000_000, long.MaxValue);
}
