using System.Net;
using System.Net.Http.Json;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Builtiful.GitHub;
using Builtiful.Testing;

namespace Builtiful.Gateway.Tests;

/// <summary>Inputs the webhook fuzz test once answered with 500, kept as they were found: each is now a 400 that changes nothing.</summary>
public sealed class WebhookRegressionTests(RunningBuiltiful builtiful) : IClassFixture<RunningBuiltiful>
{
    [Theory]
    [InlineData("workflow_job", "created_at", "NaN")]
    [InlineData("workflow_job", "created_at", "")]
    [InlineData("workflow_job", "started_at", "2026-13-45T99:99:99Z")]
    [InlineData("workflow_job", "started_at", "queued")]
    [InlineData("workflow_job", "completed_at", "builtiful-32vcpu-ubuntu-2404-arm")]
    [InlineData("installation", "created_at", "NaN")]
    [InlineData("installation", "updated_at", "")]
    public async Task A_date_that_is_not_a_date_is_400_not_500_and_changes_nothing(string @event, string field, string value)
    {
        var jobId = Random.Shared.NextInt64(1_000_000, long.MaxValue);
        var installationId = Random.Shared.NextInt64(1_000_000, long.MaxValue);
        var root = JsonNode.Parse(@event == "workflow_job"
            ? Payloads.WorkflowJob("workflow_job.queued.5.json", jobId, installationId)
            : Payloads.Installation("installation.created.1.json", installationId))!;
        root[@event == "workflow_job" ? "workflow_job" : "installation"]![field] = value;

        using var response = await builtiful.DeliverAsync(@event, root.ToJsonString());

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("Malformed payload", (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("title").GetString());
        using var job = await builtiful.AdminGetAsync($"/api/v1/jobs/{jobId}");
        using var organisation = await builtiful.AdminGetAsync($"/api/v1/organisations/{installationId}");
        Assert.Equal(HttpStatusCode.NotFound, job.StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, organisation.StatusCode);
    }

    [Theory]
    [InlineData("workflow_job")]
    [InlineData("installation")]
    [InlineData("installation_repositories")]
    public async Task A_JSON_null_payload_is_400(string @event)
    {
        using var response = await builtiful.DeliverAsync(@event, "null");

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
    }

    [Fact]
    public async Task A_body_that_is_not_UTF_8_is_400()
    {
        var body = Encoding.Latin1.GetBytes(Payloads.WorkflowJob("workflow_job.queued.5.json", 42, 43).Replace("Hello-World", "H\u00e9llo-World", StringComparison.Ordinal));
        using var request = new HttpRequestMessage(HttpMethod.Post, "/api/github/webhooks") { Content = new ByteArrayContent(body) };
        request.Content.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue("application/json");
        request.Headers.Add("X-GitHub-Event", "workflow_job");
        request.Headers.Add(WebhookSignature.Header, WebhookSignature.Sign(RunningBuiltiful.WebhookSecret, body));

        using var response = await builtiful.Http.SendAsync(request);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
    }

    [Fact]
    public async Task A_chunk_size_that_overflows_is_400_from_the_endpoint()
    {
        var body = "{}"u8.ToArray();
        var head = $"POST /api/github/webhooks HTTP/1.1\r\nHost: localhost\r\nX-GitHub-Event: workflow_job\r\n{WebhookSignature.Header}: {WebhookSignature.Sign(RunningBuiltiful.WebhookSecret, body)}\r\n" +
            "Content-Type: application/json\r\nConnection: close\r\nTransfer-Encoding: chunked\r\n\r\nFFFFFFFF\r\n{}\r\n0\r\n\r\n";
        using var tcp = new TcpClient();
        await tcp.ConnectAsync(IPAddress.Loopback, builtiful.BaseAddress.Port);
        var stream = tcp.GetStream();
        await stream.WriteAsync(Encoding.ASCII.GetBytes(head));
        using var reader = new StreamReader(stream, Encoding.ASCII);

        var statusLine = await reader.ReadLineAsync();

        Assert.StartsWith("HTTP/1.1 400", statusLine, StringComparison.Ordinal);
    }
}
