using Builtiful.Simulation.GitHub;

namespace Builtiful.Simulation.Tests;

public sealed class JobLifecycleTests
{
    [Fact]
    public async Task A_job_behind_an_environment_is_sent_waiting_twice_then_queued_once_approved()
    {
        await using var world = await World.StartAsync();
        var job = await world.GitHub.QueueJobAsync(new JobSpec { Repository = "acme/widgets", Labels = ["linux"], Environment = "production", WaitingDeliveries = 2 });
        var runner = world.Online("builtiful-env");
        await world.GitHub.WhenDeliveredAsync().Bounded();

        Assert.Equal(SimulatedJobStatus.Waiting, world.Job(job).Status);
        Assert.False(runner.WaitForJobAsync(CancellationToken.None).IsCompleted);
        Assert.Equal(["waiting", "waiting"], world.ActionsReceived(job));

        await world.GitHub.ApproveAsync(job);
        var taken = await runner.WaitForJobAsync(CancellationToken.None).Bounded();
        await world.GitHub.WhenDeliveredAsync().Bounded();

        Assert.Equal(job, taken!.JobId);
        Assert.True(world.Job(job).Approved);
        Assert.Equal(["waiting", "waiting", "queued", "in_progress"], world.ActionsReceived(job));
    }

    [Fact]
    public async Task A_waiting_job_does_not_expire_as_a_queued_one_does()
    {
        await using var world = await World.StartAsync();
        var waiting = await world.GitHub.QueueJobAsync(new JobSpec { Repository = "acme/widgets", Labels = ["linux"], Environment = "production" });
        var queued = await world.QueueAsync("acme/widgets", "linux");
        // Both first deliveries land before the day passes; one still in flight would time out on the world's clock.
        await world.GitHub.WhenDeliveredAsync().Bounded();
        world.Clock.Advance(TimeSpan.FromHours(23) + TimeSpan.FromMinutes(58));
        Assert.Equal(SimulatedJobStatus.Queued, world.Job(queued).Status);

        world.Clock.Advance(TimeSpan.FromMinutes(3));
        await world.GitHub.WhenDeliveredAsync().Bounded();

        var expired = world.Job(queued);
        Assert.Equal(SimulatedJobStatus.Completed, expired.Status);
        Assert.Equal(CompletionCause.Expired, expired.Cause);
        Assert.Equal("cancelled", expired.Conclusion);
        Assert.Equal(SimulatedJobStatus.Waiting, world.Job(waiting).Status);
        Assert.Equal(["queued", "completed"], world.ActionsReceived(queued));
        var completed = world.Gateway.Received.Last(d => d.Event == "workflow_job" && d.JobId == queued).Json.GetProperty("workflow_job");
        Assert.Equal("cancelled", completed.GetProperty("conclusion").GetString());
    }

    [Fact]
    public async Task Cancelling_a_queued_job_completes_it_cancelled_without_a_runner()
    {
        await using var world = await World.StartAsync();
        var job = await world.QueueAsync("acme/widgets", "gpu");

        await world.GitHub.CancelAsync(job);
        await world.GitHub.WhenDeliveredAsync().Bounded();
        var runner = world.Online("builtiful-late", labels: ["gpu"]);

        var record = world.Job(job);
        Assert.Equal((SimulatedJobStatus.Completed, CompletionCause.Cancelled, "cancelled"), (record.Status, record.Cause, record.Conclusion));
        Assert.Null(record.RunnerName);
        Assert.False(runner.WaitForJobAsync(CancellationToken.None).IsCompleted);
        Assert.Equal(["queued", "completed"], world.ActionsReceived(job));
    }

    [Fact]
    public async Task Cancelling_a_running_job_stops_it_on_its_runner()
    {
        await using var world = await World.StartAsync();
        var job = await world.QueueAsync("acme/widgets", "linux");
        var runner = world.Online("builtiful-running");
        Assert.NotNull(await runner.WaitForJobAsync(CancellationToken.None).Bounded());

        await world.GitHub.CancelAsync(job);
        await runner.Stopped.Bounded();
        await runner.CompleteAsync("success");
        await world.GitHub.WhenDeliveredAsync().Bounded();

        var record = world.Job(job);
        Assert.Equal((CompletionCause.Cancelled, "cancelled", "builtiful-running"), (record.Cause, record.Conclusion, record.RunnerName));
        Assert.NotNull(world.GitHub.Runners.Single(r => r.Name == "builtiful-running").RemovedAt);
        Assert.Equal(["queued", "in_progress", "completed"], world.ActionsReceived(job));
        var completed = world.Gateway.Received.Last(d => d.Event == "workflow_job" && d.JobId == job).Json.GetProperty("workflow_job");
        Assert.Equal("cancelled", completed.GetProperty("conclusion").GetString());
        Assert.Equal("builtiful-running", completed.GetProperty("runner_name").GetString());
    }

    [Fact]
    public async Task A_job_run_to_its_end_completes_with_its_conclusion_and_drops_the_registration()
    {
        await using var world = await World.StartAsync();
        var group = world.GitHub.AddRunnerGroup(World.Acme, "builders", null, allowsPublicRepositories: false);
        var job = await world.QueueAsync("acme/widgets", "linux");
        var runner = world.Online("builtiful-done", group: group);
        await runner.WaitForJobAsync(CancellationToken.None).Bounded();
        world.Clock.Advance(TimeSpan.FromSeconds(5));

        await runner.CompleteAsync("failure");
        await world.GitHub.WhenDeliveredAsync().Bounded();

        var record = world.Job(job);
        Assert.Equal((SimulatedJobStatus.Completed, CompletionCause.Ran, "failure"), (record.Status, record.Cause, record.Conclusion));
        var registration = world.GitHub.Runners.Single(r => r.Name == "builtiful-done");
        Assert.NotNull(registration.RemovedAt);
        var inProgress = world.Gateway.Received.Single(d => d.Event == "workflow_job" && d.Action == "in_progress").Json.GetProperty("workflow_job");
        Assert.Equal("builtiful-done", inProgress.GetProperty("runner_name").GetString());
        Assert.Equal(registration.Id, inProgress.GetProperty("runner_id").GetInt64());
        Assert.Equal(group, inProgress.GetProperty("runner_group_id").GetInt64());
        Assert.Equal("builders", inProgress.GetProperty("runner_group_name").GetString());
        Assert.Equal("2026-03-02T09:00:00Z", inProgress.GetProperty("started_at").GetString());
        var completed = world.Gateway.Received.Single(d => d.Event == "workflow_job" && d.Action == "completed").Json.GetProperty("workflow_job");
        Assert.Equal("2026-03-02T09:00:05Z", completed.GetProperty("completed_at").GetString());
    }

    [Fact]
    public async Task A_lost_runner_fails_its_job_and_an_idle_one_just_goes_offline()
    {
        await using var world = await World.StartAsync();
        var job = await world.QueueAsync("acme/widgets", "linux");
        var busy = world.Online("builtiful-busy");
        await busy.WaitForJobAsync(CancellationToken.None).Bounded();
        var idle = world.Online("builtiful-idle");

        await busy.LostAsync();
        await idle.LostAsync();

        var record = world.Job(job);
        Assert.Equal((CompletionCause.RunnerLost, "failure"), (record.Cause, record.Conclusion));
        Assert.Null(await idle.WaitForJobAsync(CancellationToken.None).Bounded());
        var idleRecord = world.GitHub.Runners.Single(r => r.Name == "builtiful-idle");
        Assert.NotNull(idleRecord.OfflineAt);
        Assert.Null(idleRecord.RemovedAt);
    }
}
