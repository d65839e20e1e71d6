using Builtiful.Simulation.GitHub;

namespace Builtiful.Simulation.Tests;

public sealed class AssignmentTests
{
    [Fact]
    public async Task An_idle_runner_takes_the_oldest_queued_job_whose_labels_it_has_all_of()
    {
        await using var world = await World.StartAsync();
        var needsGpu = await world.QueueAsync("acme/widgets", "self-hosted", "gpu");
        var oldest = await world.QueueAsync("acme/widgets", "self-hosted");
        world.Clock.Advance(TimeSpan.FromSeconds(1));
        var newer = await world.QueueAsync("acme/gadgets", "SELF-HOSTED", "linux");

        var first = world.Online("builtiful-a", labels: ["self-hosted", "linux"]);
        var second = world.Online("builtiful-b", labels: ["self-hosted", "linux"]);

        Assert.Equal(oldest, (await first.WaitForJobAsync(CancellationToken.None).Bounded())!.JobId);
        Assert.Equal(newer, (await second.WaitForJobAsync(CancellationToken.None).Bounded())!.JobId);
        Assert.Equal(SimulatedJobStatus.Queued, world.Job(needsGpu).Status);
        Assert.Equal("builtiful-a", world.Job(oldest).RunnerName);
    }

    [Fact]
    public async Task A_queued_job_goes_to_an_idle_runner_that_is_already_online()
    {
        await using var world = await World.StartAsync();
        var runner = world.Online("builtiful-idle");
        var job = await world.QueueAsync("acme/widgets", "linux");

        var taken = await runner.WaitForJobAsync(CancellationToken.None).Bounded();

        Assert.Equal(job, taken!.JobId);
        Assert.Equal(SimulatedJobStatus.InProgress, world.Job(job).Status);
    }

    [Fact]
    public async Task A_repository_runner_admits_only_its_repository()
    {
        await using var world = await World.StartAsync();
        var elsewhere = await world.QueueAsync("acme/widgets", "linux");
        var mine = await world.QueueAsync("acme/gadgets", "linux");

        var runner = world.Online("builtiful-repo", repository: "acme/gadgets");

        Assert.Equal(mine, (await runner.WaitForJobAsync(CancellationToken.None).Bounded())!.JobId);
        Assert.Equal(SimulatedJobStatus.Queued, world.Job(elsewhere).Status);
    }

    [Fact]
    public async Task A_runner_group_with_a_repository_list_admits_only_those_repositories()
    {
        await using var world = await World.StartAsync();
        var group = world.GitHub.AddRunnerGroup(World.Acme, "gadgets-only", ["acme/gadgets"], allowsPublicRepositories: false);
        var refused = await world.QueueAsync("acme/widgets", "linux");
        var admitted = await world.QueueAsync("acme/gadgets", "linux");

        var runner = world.Online("builtiful-grouped", group: group);

        Assert.Equal(admitted, (await runner.WaitForJobAsync(CancellationToken.None).Bounded())!.JobId);
        Assert.Equal(SimulatedJobStatus.Queued, world.Job(refused).Status);
        Assert.Equal(group, world.GitHub.Runners.Single(r => r.Name == "builtiful-grouped").RunnerGroupId);
    }

    [Fact]
    public async Task The_default_group_refuses_public_repositories_and_a_group_that_allows_them_takes_them()
    {
        await using var world = await World.StartAsync();
        var publicJob = await world.QueueAsync("acme/site", "linux");
        var defaultRunner = world.Online("builtiful-default");
        Assert.False(defaultRunner.WaitForJobAsync(CancellationToken.None).IsCompleted);
        Assert.Equal(SimulatedJobStatus.Queued, world.Job(publicJob).Status);

        var open = world.GitHub.AddRunnerGroup(World.Acme, "public", null, allowsPublicRepositories: true);
        var openRunner = world.Online("builtiful-open", group: open);

        Assert.Equal(publicJob, (await openRunner.WaitForJobAsync(CancellationToken.None).Bounded())!.JobId);
    }

    [Fact]
    public async Task The_default_group_takes_public_repositories_when_configured_to()
    {
        await using var world = await World.StartAsync(o => o.DefaultGroupAllowsPublicRepositories = true);
        var publicJob = await world.QueueAsync("acme/site", "linux");

        var runner = world.Online("builtiful-default");

        Assert.Equal(publicJob, (await runner.WaitForJobAsync(CancellationToken.None).Bounded())!.JobId);
    }

    [Fact]
    public async Task A_runner_never_takes_a_job_of_another_installation()
    {
        await using var world = await World.StartAsync();
        var foreign = await world.QueueAsync("other/app", "linux");
        var userJob = await world.QueueAsync("octocat/hello", "linux");

        var runner = world.Online("builtiful-acme");
        var userRunner = world.Online("builtiful-user", installation: World.Octocat, repository: "octocat/hello");

        Assert.False(runner.WaitForJobAsync(CancellationToken.None).IsCompleted);
        Assert.Equal(userJob, (await userRunner.WaitForJobAsync(CancellationToken.None).Bounded())!.JobId);
        Assert.Equal(SimulatedJobStatus.Queued, world.Job(foreign).Status);
    }

    [Fact]
    public async Task User_accounts_have_no_organisation_runners()
    {
        await using var world = await World.StartAsync();

        Assert.Throws<InvalidOperationException>(() => world.GitHub.GenerateJitConfig(World.Octocat, null, 1, "builtiful-x", ["linux"]));
    }

    [Fact]
    public async Task A_config_connects_once_and_not_after_its_registration_was_deleted()
    {
        await using var world = await World.StartAsync();
        var used = world.GitHub.GenerateJitConfig(World.Acme, null, 1, "builtiful-once", ["linux"]);
        var deleted = world.GitHub.GenerateJitConfig(World.Acme, null, 1, "builtiful-gone", ["linux"]);

        Assert.NotNull(world.GitHub.Connect(used.EncodedJitConfig));
        Assert.Null(world.GitHub.Connect(used.EncodedJitConfig));
        Assert.Equal(RunnerDeletion.Removed, world.GitHub.DeleteRunner(deleted.Runner.Id));
        Assert.Null(world.GitHub.Connect(deleted.EncodedJitConfig));
        Assert.Null(world.GitHub.Connect("bm90IGEgY29uZmln"));
    }
}
