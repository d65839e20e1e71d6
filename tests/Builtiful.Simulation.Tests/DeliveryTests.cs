using Builtiful.GitHub;
using Builtiful.Simulation.GitHub;

namespace Builtiful.Simulation.Tests;

public sealed class DeliveryTests
{
    [Fact]
    public async Task Deliveries_are_signed_and_headed_as_GitHub_sends_them_and_carry_the_job()
    {
        await using var world = await World.StartAsync();
        var job = await world.QueueAsync("acme/site", "self-hosted", "linux");
        await world.GitHub.WhenDeliveredAsync().Bounded();

        var installation = world.Gateway.Received.Single(d => d.Event == "installation" && d.Json.GetProperty("installation").GetProperty("id").GetInt64() == World.Acme);
        var account = installation.Json.GetProperty("installation").GetProperty("account");
        Assert.Equal(("acme", "Organization"), (account.GetProperty("login").GetString(), account.GetProperty("type").GetString()));
        Assert.Equal(3, world.Gateway.Received.Count(d => d.Event == "installation" && d.Action == "created"));

        var queued = world.Gateway.Received.Single(d => d.Event == "workflow_job");
        Assert.True(WebhookSignature.IsValid(World.Secret, queued.Body, queued.Headers[WebhookSignature.Header]));
        Assert.False(WebhookSignature.IsValid("another-secret", queued.Body, queued.Headers[WebhookSignature.Header]));
        Assert.StartsWith("GitHub-Hookshot/", queued.Headers["User-Agent"], StringComparison.Ordinal);
        Assert.Equal(world.GitHub.AppId.ToString(System.Globalization.CultureInfo.InvariantCulture), queued.Headers["X-GitHub-Hook-Installation-Target-Id"]);
        Assert.True(Guid.TryParse(queued.Guid, out _));
        var root = queued.Json;
        Assert.Equal("queued", root.GetProperty("action").GetString());
        var wj = root.GetProperty("workflow_job");
        Assert.Equal(job, wj.GetProperty("id").GetInt64());
        Assert.Equal(["self-hosted", "linux"], wj.GetProperty("labels").EnumerateArray().Select(l => l.GetString()));
        Assert.Equal("queued", wj.GetProperty("status").GetString());
        Assert.Equal(System.Text.Json.JsonValueKind.Null, wj.GetProperty("runner_name").ValueKind);
        var repository = root.GetProperty("repository");
        Assert.Equal(("acme/site", "site", false, "public"), (repository.GetProperty("full_name").GetString(), repository.GetProperty("name").GetString(),
            repository.GetProperty("private").GetBoolean(), repository.GetProperty("visibility").GetString()));
        Assert.Equal(World.Acme, root.GetProperty("installation").GetProperty("id").GetInt64());

        var logged = world.GitHub.Deliveries.Single(d => d.Event == "workflow_job");
        Assert.Equal((queued.Guid, "queued", 200, job, false), (logged.DeliveryGuid, logged.Action, logged.StatusCode, logged.JobId, logged.Redelivery));
    }

    [Fact]
    public async Task A_delivery_answered_500_stays_failed_and_is_never_retried_by_GitHub()
    {
        await using var world = await World.StartAsync();
        world.Gateway.Answer = 500;
        var job = await world.QueueAsync("acme/widgets", "linux");
        await world.GitHub.WhenDeliveredAsync().Bounded();
        world.Gateway.Answer = 200;
        world.Clock.Advance(TimeSpan.FromHours(1));
        await world.GitHub.WhenDeliveredAsync().Bounded();

        Assert.Single(world.ActionsReceived(job));
        var logged = Assert.Single(world.GitHub.Deliveries, d => d.JobId == job);
        Assert.Equal(500, logged.StatusCode);
        Assert.Equal(0, world.GitHub.Redelivered);
    }

    [Fact]
    public async Task A_dropped_delivery_never_arrives_and_is_logged_failed()
    {
        await using var world = await World.StartAsync(o => o.DeliveryDropRate = 1);
        var job = await world.QueueAsync("acme/widgets", "linux");
        await world.GitHub.WhenDeliveredAsync().Bounded();

        Assert.Empty(world.ActionsReceived(job));
        var logged = Assert.Single(world.GitHub.Deliveries, d => d.JobId == job);
        Assert.Equal(0, logged.StatusCode);
        Assert.Equal(1, world.GitHub.Faults["github.dropped-delivery"]);
    }

    [Fact]
    public async Task A_delivery_unanswered_for_ten_seconds_of_world_time_is_logged_timed_out()
    {
        await using var world = await World.StartAsync();
        world.Gateway.Answer = 0;
        var job = await world.QueueAsync("acme/widgets", "linux");
        while ((await world.Gateway.NextArrivalAsync()).Event != "workflow_job")
        {
            // The installations' deliveries arrived earlier.
        }

        var delivered = world.GitHub.WhenDeliveredAsync();

        world.Clock.Advance(TimeSpan.FromSeconds(9));
        Assert.False(delivered.IsCompleted);
        world.Clock.Advance(TimeSpan.FromSeconds(1));
        await delivered.Bounded();

        var logged = Assert.Single(world.GitHub.Deliveries, d => d.JobId == job);
        Assert.Equal(0, logged.StatusCode);
    }

    [Fact]
    public async Task A_duplicated_delivery_arrives_twice_with_one_guid()
    {
        await using var world = await World.StartAsync(o => o.DeliveryDuplicateRate = 1);
        var job = await world.QueueAsync("acme/widgets", "linux");
        await world.GitHub.WhenDeliveredAsync().Bounded();

        var received = world.Gateway.Received.Where(d => d.Event == "workflow_job" && d.JobId == job).ToList();
        Assert.Equal(2, received.Count);
        Assert.Equal(received[0].Guid, received[1].Guid);
        Assert.Equal(2, world.GitHub.Deliveries.Count(d => d.JobId == job));
    }

    [Fact]
    public async Task A_reordered_in_progress_arrives_after_its_completed()
    {
        await using var world = await World.StartAsync(o => o.DeliveryReorderRate = 1);
        var job = await world.QueueAsync("acme/widgets", "linux");
        var runner = world.Online("builtiful-reordered");
        await runner.WaitForJobAsync(CancellationToken.None).Bounded();
        await world.GitHub.WhenDeliveredAsync().Bounded();
        Assert.Equal(["queued"], world.ActionsReceived(job));

        await runner.CompleteAsync("success");
        await world.GitHub.WhenDeliveredAsync().Bounded();

        Assert.Equal(["queued", "completed", "in_progress"], world.ActionsReceived(job));
        Assert.Equal(1, world.GitHub.Faults["github.reordered-delivery"]);
    }

    [Fact]
    public async Task Deliveries_go_round_robin_over_the_webhook_targets()
    {
        await using var world = await World.StartAsync();
        await using var second = await Gateway.StartAsync();
        world.GitHub.SetWebhookTargets([world.Gateway.Url, second.Url]);
        var before = world.Gateway.Received.Count;

        for (var i = 0; i < 4; i++)
        {
            await world.QueueAsync("acme/widgets", "linux");
        }

        await world.GitHub.WhenDeliveredAsync().Bounded();
        Assert.Equal(2, world.Gateway.Received.Count - before);
        Assert.Equal(2, second.Received.Count);
    }
}
