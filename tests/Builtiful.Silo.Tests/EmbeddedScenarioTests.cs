using System.Globalization;
using Builtiful.Leases;
using Builtiful.Providers;
using Builtiful.Simulation;
using Builtiful.Simulation.GitHub;
using Builtiful.Testing;

namespace Builtiful.Silo.Tests;

/// <summary>
/// GitHub's real behaviour that the first design got wrong, played end to end by the embedded default against its
/// simulated GitHub: environment approvals, runners that can only take jobs the organisation admits, and VMs handed on
/// only to jobs their runner can take. Judged by the world's record of jobs and runners and the cloud's record of VMs.
/// </summary>
public sealed class EmbeddedScenarioTests : IAsyncLifetime
{
    private const string Label = "builtiful-2vcpu-ubuntu-2404";
    private BuiltifulInstance _builtiful = null!;

    private SimulatedGitHub World => _builtiful.World;

    private SimulatedComputeProvider Cloud => _builtiful.Cloud;

    public async Task InitializeAsync() => _builtiful = await BuiltifulInstance.StartAsync(new Dictionary<string, string>
    {
        ["Simulation:BootDelay"] = "00:00:02",
        ["Simulation:GitHub:DefaultRunTime"] = "00:00:00.300",
        // An organisation runner in the default group could take a public repository's job: only the scope Builtiful
        // registers its runners in keeps them from jobs its policy refuses.
        ["Simulation:GitHub:DefaultGroupAllowsPublicRepositories"] = "true",
        // A VM that waits for a job its runner can never take would sit out this whole deadline.
        ["Leases:BootDeadline"] = "00:05:00",
        // One VM at a time, so a second job waits in line and is there to inherit the first job's VM.
        ["Organisations:MaxConcurrentVms"] = "1",
    });

    public async Task DisposeAsync() => await _builtiful.StopAsync();

    [Fact]
    public async Task A_job_behind_an_approval_gets_no_VM_while_it_waits_and_one_once_it_is_approved()
    {
        var (_, repository) = await InstallAsync();
        var gated = await World.QueueJobAsync(new JobSpec { Repository = repository, Labels = [Label], Environment = "production", WaitingDeliveries = 2 });
        await World.WhenDeliveredAsync();
        Assert.Equal(2, World.Deliveries.Count(d => d.JobId == gated && d.Action == "waiting" && d.StatusCode is >= 200 and < 300));

        // Under the one-VM limit, a VM started for the waiting job would be the only VM there is until this job is over.
        var ordinary = await World.QueueJobAsync(new JobSpec { Repository = repository, Labels = [Label] });
        Assert.Equal(CompletionCause.Ran, (await _builtiful.JobCompletes(ordinary)).Cause);
        Assert.DoesNotContain(Cloud.Vms, vm => LaunchedFor(vm) == gated);

        await World.ApproveAsync(gated);

        var job = await _builtiful.JobCompletes(gated);
        Assert.Equal(CompletionCause.Ran, job.Cause);
        Assert.True(job.Approved);
        Assert.True(RunnerNames.TryParseLease(job.RunnerName, out var leaseId), $"job ran on {job.RunnerName}, not a Builtiful runner");
        Assert.Equal(leaseId, Assert.Single(Cloud.Vms, vm => LaunchedFor(vm) == gated).LeaseId);
    }

    [Fact]
    public async Task A_runner_Builtiful_launches_never_takes_a_job_of_a_repository_its_policy_refuses()
    {
        var (installationId, repository) = await InstallAsync();
        var publicRepository = repository.Split('/')[0] + "/public-docs";
        World.AddRepository(installationId, publicRepository, isPublic: true);

        // The refused job is the older one, so a runner that could take it would take it first.
        var refused = await World.QueueJobAsync(new JobSpec { Repository = publicRepository, Labels = [Label] });
        await World.WhenDeliveredAsync();
        var admitted = await World.QueueJobAsync(new JobSpec { Repository = repository, Labels = [Label] });

        var job = await _builtiful.JobCompletes(admitted);
        Assert.Equal(CompletionCause.Ran, job.Cause);
        Assert.True(RunnerNames.TryParseLease(job.RunnerName, out _), $"job ran on {job.RunnerName}, not a Builtiful runner");
        Assert.Equal(repository, Assert.Single(World.Runners, r => r.Name == job.RunnerName).Repository);

        var stillQueued = Assert.Single(World.Jobs, j => j.Id == refused);
        Assert.Equal(SimulatedJobStatus.Queued, stillQueued.Status);
        Assert.Null(stillQueued.RunnerName);
        Assert.DoesNotContain(Cloud.Vms, vm => LaunchedFor(vm) == refused);
    }

    [Fact]
    public async Task A_VM_whose_job_was_cancelled_is_handed_only_to_a_job_its_runner_can_take()
    {
        var (_, repository) = await InstallAsync();

        // The first job's VM was registered with the first job's labels; the second job, waiting in line behind the
        // one-VM limit, needs one more label. The first job is cancelled while its VM boots.
        var first = await World.QueueJobAsync(new JobSpec { Repository = repository, Labels = [Label] });
        await Eventually.Until(() => Task.FromResult(Cloud.Vms.Any(vm => LaunchedFor(vm) == first)), found => found, $"a VM is launched for job {first}");
        var second = await World.QueueJobAsync(new JobSpec { Repository = repository, Labels = [Label, "gpu-cache"] });
        await World.WhenDeliveredAsync();
        await World.CancelAsync(first);

        // A VM whose runner cannot take the job would idle to its 5-minute boot deadline before the job got another.
        var job = await _builtiful.JobCompletes(second, TimeSpan.FromSeconds(60));
        Assert.Equal(CompletionCause.Ran, job.Cause);
        Assert.True(RunnerNames.TryParseLease(job.RunnerName, out var leaseId), $"job ran on {job.RunnerName}, not a Builtiful runner");
        var runner = Assert.Single(World.Runners, r => r.Name == job.RunnerName);
        Assert.Contains("gpu-cache", runner.Labels, StringComparer.OrdinalIgnoreCase);
        Assert.NotEqual(first, LaunchedFor(Assert.Single(Cloud.Vms, vm => vm.LeaseId == leaseId)));

        // The cancelled job's VM took no job and is gone.
        await Eventually.Until(
            () => Task.FromResult(Cloud.Vms.Where(vm => LaunchedFor(vm) == first).All(vm => vm.State is InstanceState.Terminated or InstanceState.NotFound)),
            gone => gone, $"the VM launched for cancelled job {first} is terminated");
    }

    /// <summary>An organisation with one private repository, its installation.created already taken in by Builtiful.</summary>
    private async Task<(long InstallationId, string Repository)> InstallAsync()
    {
        var installed = await _builtiful.InstallOrganisationAsync();
        await World.WhenDeliveredAsync();
        return installed;
    }

    private static long? LaunchedFor(SimulatedVm vm) =>
        vm.Tags.TryGetValue(InstanceTags.Job, out var job) && long.TryParse(job, CultureInfo.InvariantCulture, out var id) ? id : null;
}
