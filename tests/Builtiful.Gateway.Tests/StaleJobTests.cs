using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using Builtiful.Providers;
using Builtiful.Simulation;
using Builtiful.Simulation.GitHub;
using Builtiful.Testing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;

namespace Builtiful.Gateway.Tests;

/// <summary>
/// Jobs the organisation keeps without a VM do not stay forever: GitHub cancels a job queued for 24 hours, and a job
/// whose installation never arrives is rejected after <c>Organisations:ParkedJobMaxAge</c>. Through the gateway, on a
/// fake clock; the organisation's tick runs every second of real time.
/// </summary>
public sealed class StaleJobTests(StaleJobTests.Host builtiful) : IClassFixture<StaleJobTests.Host>
{
    public sealed class Host : IAsyncLifetime
    {
        public FakeTimeProvider Clock { get; } = new(new DateTimeOffset(2026, 6, 1, 8, 0, 0, TimeSpan.Zero));

        public BuiltifulInstance Instance { get; private set; } = null!;

        public async Task InitializeAsync() => Instance = await BuiltifulInstance.StartAsync(
            new Dictionary<string, string>
            {
                ["Leases:CheckPeriod"] = "00:00:01",
            },
            builder => builder.Services.AddKeyedSingleton<TimeProvider>(BuiltifulClock.Key, Clock));

        public async Task DisposeAsync() => await Instance.StopAsync();
    }

    private SimulatedComputeProvider Cloud => builtiful.Instance.App.Services.GetRequiredService<SimulatedComputeProvider>();

    [Fact]
    public async Task A_job_waiting_in_line_for_more_than_24_hours_is_dropped_and_never_gets_a_VM()
    {
        var installationId = NewId();
        var repository = $"Codertocat/hello-{Guid.NewGuid():N}";

        // The world knows the recorded installation (user Codertocat) and the repository, so the young job's runner can
        // be minted; it has no job to give that runner, as the jobs here are delivered by hand.
        await builtiful.Instance.KnowInWorldAsync(installationId, "Codertocat", AccountKind.User, (repository, false));
        await DeliverAsync("installation", Payloads.Installation("installation.created.1.json", installationId));
        await SetMaxConcurrentVmsAsync(installationId, 0);
        var old = NewId();
        await DeliverAsync("workflow_job", Payloads.WorkflowJob("workflow_job.queued.5.json", old, installationId, repository: repository));
        builtiful.Clock.Advance(TimeSpan.FromHours(20));
        var young = NewId();
        await DeliverAsync("workflow_job", Payloads.WorkflowJob("workflow_job.queued.5.json", young, installationId, repository: repository));
        Assert.Equal(2, (await OrganisationAsync(installationId)).GetProperty("waitingJobs").GetInt32());

        builtiful.Clock.Advance(TimeSpan.FromHours(4) + TimeSpan.FromMinutes(1));

        var expired = await Eventually.Until(() => JobAsync(old), j => j.GetProperty("rejected").GetBoolean(), $"job {old} is dropped after 24 hours in line");
        Assert.Equal("expired", expired.GetProperty("rejectionCode").GetString());
        Assert.Contains("24 hours", expired.GetProperty("rejectionReason").GetString(), StringComparison.Ordinal);
        Assert.False((await JobAsync(young)).GetProperty("rejected").GetBoolean());

        // Room again: only the young job is still in line, so only it gets a VM.
        await SetMaxConcurrentVmsAsync(installationId, 20);
        await Eventually.Until(() => Task.FromResult(VmsFor(young)), vms => vms.Count == 1, $"job {young} gets its VM");
        Assert.Empty(VmsFor(old));
        var organisation = await OrganisationAsync(installationId);
        Assert.Equal(1, organisation.GetProperty("leaseIds").GetArrayLength());
        Assert.Equal(0, organisation.GetProperty("waitingJobs").GetInt32());
    }

    [Fact]
    public async Task A_job_whose_installation_never_arrives_is_rejected_after_the_parked_age_and_launches_nothing_later()
    {
        var installationId = NewId();
        var jobId = NewId();
        Assert.StartsWith("applied", await DeliverAsync("workflow_job", Payloads.WorkflowJob("workflow_job.queued.5.json", jobId, installationId)), StringComparison.Ordinal);
        Assert.False((await JobAsync(jobId)).GetProperty("rejected").GetBoolean());

        builtiful.Clock.Advance(TimeSpan.FromMinutes(11));

        var rejected = await Eventually.Until(() => JobAsync(jobId), j => j.GetProperty("rejected").GetBoolean(), $"parked job {jobId} is rejected");
        Assert.Equal("unknown_installation", rejected.GetProperty("rejectionCode").GetString());
        Assert.Contains("did not arrive within", rejected.GetProperty("rejectionReason").GetString(), StringComparison.Ordinal);

        await DeliverAsync("installation", Payloads.Installation("installation.created.1.json", installationId));
        var organisation = await OrganisationAsync(installationId);
        Assert.Equal(0, organisation.GetProperty("leaseIds").GetArrayLength());
        Assert.Equal(0, organisation.GetProperty("waitingJobs").GetInt32());
        Assert.Empty(VmsFor(jobId));
    }

    private List<SimulatedVm> VmsFor(long jobId) =>
        [.. Cloud.Vms.Where(v => v.Tags.GetValueOrDefault(InstanceTags.Job) == jobId.ToString(CultureInfo.InvariantCulture))];

    private async Task SetMaxConcurrentVmsAsync(long installationId, int max)
    {
        using var request = new HttpRequestMessage(HttpMethod.Put, $"/api/v1/organisations/{installationId}/limits") { Content = JsonContent.Create(new { maxConcurrentVms = max }) };
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", BuiltifulInstance.AdminToken);
        using var response = await builtiful.Instance.Http.SendAsync(request);
        Assert.True(response.IsSuccessStatusCode, $"PUT limits: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
    }

    private async Task<JsonElement> JobAsync(long jobId) => (await builtiful.Instance.AdminJsonAsync($"/api/v1/jobs/{jobId}"))!.Value;

    private async Task<JsonElement> OrganisationAsync(long installationId) => (await builtiful.Instance.AdminJsonAsync($"/api/v1/organisations/{installationId}"))!.Value;

    private async Task<string> DeliverAsync(string @event, string body)
    {
        using var response = await builtiful.Instance.DeliverAsync(@event, body);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("outcome").GetString()!;
    }

    private static long NewId() => Random.Shared.NextInt64(1_000_000, long.MaxValue);
}
