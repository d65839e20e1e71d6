using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Builtiful.Gateway.Webhooks;
using Builtiful.Testing;
using Microsoft.Extensions.DependencyInjection;

namespace Builtiful.Gateway.Tests;

/// <summary>
/// Strangers get nothing: a signed job event for an installation that is unknown, suspended or deleted launches no VM
/// and is counted in <c>builtiful.webhooks.refused</c> with its reason, as are deliveries the gateway refuses itself.
/// </summary>
public sealed class StrangerTests(StrangerTests.Host builtiful) : IClassFixture<StrangerTests.Host>, IDisposable
{
    private readonly RefusalCounter _refused = new(builtiful.Services.GetRequiredService<IMeterFactory>());

    public sealed class Host : RunningBuiltiful
    {
        protected override IReadOnlyDictionary<string, string> Settings => new Dictionary<string, string>();
    }

    public void Dispose() => _refused.Dispose();

    [Fact]
    public async Task A_job_for_an_installation_never_created_gets_no_VM_and_is_counted()
    {
        var installationId = NewId();
        var jobId = NewId();

        using var response = await builtiful.DeliverAsync("workflow_job", Payloads.WorkflowJob("workflow_job.queued.5.json", jobId, installationId));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("rejected", (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("outcome").GetString());
        var job = (await builtiful.AdminJsonAsync($"/api/v1/jobs/{jobId}"))!.Value;
        Assert.Contains("unknown", job.GetProperty("rejectionReason").GetString(), StringComparison.Ordinal);
        Assert.Equal(JsonValueKind.Null, job.GetProperty("leaseId").ValueKind);
        Assert.Null(await builtiful.AdminJsonAsync($"/api/v1/organisations/{installationId}"));
        await _refused.ReachesAsync(RefusalReasons.UnknownInstallation, 1);
    }

    [Theory]
    [InlineData("installation.suspend.5.json", "suspended", RefusalReasons.SuspendedInstallation)]
    [InlineData("installation.deleted.0.json", "deleted", RefusalReasons.DeletedInstallation)]
    public async Task A_job_for_a_suspended_or_deleted_installation_gets_no_VM_and_is_counted(string change, string status, string reason)
    {
        var installationId = NewId();
        await DeliverOkAsync("installation", Payloads.Installation("installation.created.1.json", installationId));
        await DeliverOkAsync("installation", Payloads.Installation(change, installationId));
        var jobId = NewId();

        await DeliverOkAsync("workflow_job", Payloads.WorkflowJob("workflow_job.queued.5.json", jobId, installationId));

        var organisation = (await builtiful.AdminJsonAsync($"/api/v1/organisations/{installationId}"))!.Value;
        Assert.Equal(status, organisation.GetProperty("status").GetString());
        Assert.Equal(0, organisation.GetProperty("liveLeases").GetInt32());
        Assert.Equal(0, organisation.GetProperty("leaseIds").GetArrayLength());
        Assert.Equal(JsonValueKind.Null, (await builtiful.AdminJsonAsync($"/api/v1/jobs/{jobId}"))!.Value.GetProperty("leaseId").ValueKind);
        await _refused.ReachesAsync(reason, 1);
    }

    [Fact]
    public async Task Unsigned_and_forged_deliveries_are_counted_by_reason()
    {
        var body = Payloads.WorkflowJob("workflow_job.queued.5.json", NewId(), NewId());

        using var unsigned = await builtiful.DeliverAsync("workflow_job", body, sign: false);
        using var forged = await builtiful.DeliverAsync("workflow_job", body, signature: Builtiful.GitHub.WebhookSignature.Sign("guess", Encoding.UTF8.GetBytes(body)));

        Assert.Equal(HttpStatusCode.Unauthorized, unsigned.StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, forged.StatusCode);
        await _refused.ReachesAsync(RefusalReasons.MissingSignature, 1);
        await _refused.ReachesAsync(RefusalReasons.BadSignature, 1);
    }

    private async Task DeliverOkAsync(string @event, string body)
    {
        using var response = await builtiful.DeliverAsync(@event, body);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }

    private static long NewId() => Random.Shared.NextInt64(1_000_000, long.MaxValue);
}
