using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Builtiful.Gateway.Webhooks;
using Builtiful.Testing;
using RepositoryVisibilities = Builtiful.Jobs.RepositoryVisibilities;
using RepositoryVisibility = Builtiful.Jobs.RepositoryVisibility;
using Octokit.Webhooks;
using Octokit.Webhooks.Events;
using Octokit.Webhooks.Events.WorkflowJob;

namespace Builtiful.Gateway.Tests;

/// <summary>
/// The gateway's source-generated workflow_job model against Octokit.Webhooks' full model, the reference it replaced on the hot
/// path: the same fields from every real payload, and a clear error naming the field when a kept field is wrong.
/// </summary>
public sealed class WorkflowJobPayloadTests
{
    public static TheoryData<string> WorkflowJobFixtures() =>
        [.. Payloads.All().Where(f => f.StartsWith("workflow_job.", StringComparison.Ordinal))];

    [Theory]
    [MemberData(nameof(WorkflowJobFixtures))]
    public async Task Every_real_payload_reads_the_same_fields_as_Octokit(string fixture)
    {
        await AssertSameAsOctokitAsync(Payloads.Read(fixture));
        await AssertSameAsOctokitAsync(Payloads.WorkflowJob(fixture, 4_242_424_242, 42_424_242, runnerName: "builtiful-" + Guid.NewGuid().ToString("N")));
    }

    [Fact]
    public async Task Escaped_strings_unusual_dates_and_many_labels_read_the_same_as_Octokit()
    {
        var root = JsonNode.Parse(Payloads.WorkflowJob("workflow_job.completed.1.json", 7, 8))!;
        var job = root["workflow_job"]!;
        job["name"] = "build \"x\" \\ \u00e9\u202e\ud83d\ude80 <tab>\t";
        job["head_branch"] = null;
        job["created_at"] = "2026-11-05T10:00:00.123+02:00";
        job["started_at"] = 1_700_000_000;
        job["labels"] = new JsonArray("self-hosted", "BUILTIFUL-4vcpu-ubuntu-2404", "x", "y", "z", "builtiful-2vcpu-ubuntu-2404-arm");
        root["repository"]!["full_name"] = "o/r\u00fcpo";
        root["extra"] = new JsonObject { ["deep"] = new JsonArray(new JsonObject { ["a"] = 1 }) };

        await AssertSameAsOctokitAsync(root.ToJsonString());
    }

    [Theory]
    [InlineData("workflow_job.id", "\"42\"")]
    [InlineData("workflow_job.id", "1.5")]
    [InlineData("workflow_job.run_id", "true")]
    [InlineData("workflow_job.labels", "\"builtiful-2vcpu-ubuntu-2404\"")]
    [InlineData("workflow_job.labels", "[1]")]
    [InlineData("workflow_job.labels", "[null]")]
    [InlineData("workflow_job.head_sha", "{}")]
    [InlineData("workflow_job.created_at", "\"NaN\"")]
    [InlineData("workflow_job.started_at", "\"\"")]
    [InlineData("workflow_job.completed_at", "1e300")]
    [InlineData("workflow_job", "[]")]
    [InlineData("installation", "7")]
    [InlineData("installation.id", "\"7\"")]
    [InlineData("repository.full_name", "[]")]
    public void A_kept_field_of_the_wrong_type_is_an_error_naming_the_field(string path, string json)
    {
        var root = JsonNode.Parse(Payloads.WorkflowJob("workflow_job.queued.5.json", 7, 8))!.AsObject();
        var names = path.Split('.');
        var parent = names.Length == 1 ? root : root[names[0]]!.AsObject();
        parent[names[^1]] = JsonNode.Parse(json);

        var error = Assert.Throws<JsonException>(() => WorkflowJobPayload.Parse(Encoding.UTF8.GetBytes(root.ToJsonString())));

        Assert.Equal("$." + path, error.Path);
        Assert.Contains("$." + path, error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("")]
    [InlineData("{\"action\": \"queued\", \"workflow_job\": ")]
    [InlineData("not json at all")]
    [InlineData("[]")]
    [InlineData("\"queued\"")]
    [InlineData("{\"action\": \"queued\"} {}")]
    [InlineData("{\"action\": \"queued\", /* comment */ \"workflow_job\": {}}")]
    [InlineData("{\"action\": \"queued\", \"workflow_job\": {\"id\": 1,}}")]
    public void A_body_that_is_not_one_JSON_object_is_an_error(string body)
    {
        Assert.ThrowsAny<JsonException>(() => WorkflowJobPayload.Parse(Encoding.UTF8.GetBytes(body)));
    }

    [Fact]
    public void Bytes_that_are_not_UTF_8_are_an_error_even_in_skipped_fields()
    {
        var body = Encoding.Latin1.GetBytes(Payloads.WorkflowJob("workflow_job.queued.5.json", 7, 8).Replace("Hello-World", "H\u00e9llo-World", StringComparison.Ordinal));

        var error = Assert.Throws<JsonException>(() => WorkflowJobPayload.Parse(body));

        Assert.Contains("UTF-8", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Nesting_deeper_than_64_in_a_skipped_field_is_an_error()
    {
        var body = "{\"action\":\"queued\",\"extra\":" + new string('[', 100) + new string(']', 100) + "}";

        Assert.ThrowsAny<JsonException>(() => WorkflowJobPayload.Parse(Encoding.UTF8.GetBytes(body)));
    }

    [Fact]
    public void JSON_null_is_no_payload_and_a_missing_workflow_job_is_reported_as_missing()
    {
        Assert.Null(WorkflowJobPayload.Parse(" null "u8));

        var payload = WorkflowJobPayload.Parse("{\"action\":\"queued\",\"workflow_job\":null}"u8)!;

        Assert.Null(payload.WorkflowJob);
        Assert.Equal("queued", payload.Action);

        var bare = WorkflowJobPayload.Parse("{\"action\":\"queued\",\"workflow_job\":{}}"u8)!.WorkflowJob!;
        Assert.Empty(bare.Labels);
        Assert.Null(bare.Id);
        Assert.Empty(WorkflowJobPayload.Parse("{\"workflow_job\":{\"labels\":null}}"u8)!.WorkflowJob!.Labels);
    }

    [Fact]
    public void Fields_Builtiful_does_not_keep_are_skipped_whatever_their_type()
    {
        var root = JsonNode.Parse(Payloads.WorkflowJob("workflow_job.queued.5.json", 7, 8))!;
        root["workflow_job"]!["steps"] = "not an array";
        root["workflow_job"]!["runner_id"] = new JsonObject();
        root["sender"] = 12;
        root["repository"]!["owner"] = "not an object";

        var payload = WorkflowJobPayload.Parse(Encoding.UTF8.GetBytes(root.ToJsonString()))!;

        Assert.Equal(7, payload.WorkflowJob?.Id);
        Assert.Equal(8, payload.InstallationId);
        Assert.Equal("Codertocat/Hello-World", payload.Repository?.FullName);
    }

    [Fact]
    public void Repeated_names_and_labels_are_one_string_across_deliveries_and_unique_values_are_not_shared()
    {
        var first = WorkflowJobPayload.Parse(Encoding.UTF8.GetBytes(Payloads.WorkflowJob("workflow_job.queued.5.json", 7, 8, runnerName: "builtiful-a")))!;
        var second = WorkflowJobPayload.Parse(Encoding.UTF8.GetBytes(Payloads.WorkflowJob("workflow_job.queued.5.json", 9, 8, runnerName: "builtiful-a")))!;

        Assert.Equal("Codertocat/Hello-World", second.Repository?.FullName);
        Assert.Same(first.Repository?.FullName, second.Repository?.FullName);
        Assert.Same(first.WorkflowJob?.Labels[0], second.WorkflowJob?.Labels[0]);
        Assert.Same(first.WorkflowJob?.WorkflowName, second.WorkflowJob?.WorkflowName);
        Assert.Same(first.Action, second.Action);
        Assert.Equal(first.WorkflowJob?.HeadSha, second.WorkflowJob?.HeadSha);
        Assert.NotSame(first.WorkflowJob?.HeadSha, second.WorkflowJob?.HeadSha);
    }

    private static async Task AssertSameAsOctokitAsync(string json)
    {
        var reference = new CapturingProcessor();
        await reference.ProcessWebhookAsync(
            new Dictionary<string, Microsoft.Extensions.Primitives.StringValues>(StringComparer.OrdinalIgnoreCase) { ["X-GitHub-Event"] = "workflow_job" },
            json);
        var expected = Assert.IsAssignableFrom<WorkflowJobEvent>(reference.Event);
        var job = expected.WorkflowJob;

        var payload = WorkflowJobPayload.Parse(Encoding.UTF8.GetBytes(json));

        Assert.NotNull(payload);
        var actual = Assert.IsType<WorkflowJobFields>(payload.WorkflowJob);
        Assert.Equal(expected.Action, payload.Action);
        Assert.Equal(job.Id, actual.Id ?? 0);
        Assert.Equal(job.RunId, actual.RunId ?? 0);
        Assert.Equal(job.RunAttempt, actual.RunAttempt ?? 0);
        Assert.Equal(job.HeadBranch, actual.HeadBranch);
        Assert.Equal(job.HeadSha, actual.HeadSha);
        Assert.Equal(job.WorkflowName, actual.WorkflowName);
        Assert.Equal(job.Name, actual.Name);
        Assert.Equal(job.Labels, actual.Labels);
        Assert.Equal(job.RunnerName, actual.RunnerName);
        Assert.Equal(job.Conclusion?.StringValue, actual.Conclusion);
        Assert.Equal(job.CreatedAt == default ? null : job.CreatedAt, actual.CreatedAt);
        Assert.Equal(job.StartedAt, actual.StartedAt);
        Assert.Equal(job.CompletedAt, actual.CompletedAt);
        Assert.Equal(expected.Installation?.Id ?? 0, payload.InstallationId);
        Assert.Equal(expected.Repository?.FullName, payload.Repository?.FullName);
        Assert.Equal(
            expected.Repository is { } repository
                ? RepositoryVisibilities.From(repository.Visibility?.StringValue, repository.Private)
                : RepositoryVisibility.Unknown,
            payload.Visibility);
    }

    [Theory]
    [InlineData("\"visibility\": \"internal\", \"private\": true", RepositoryVisibility.Internal)]
    [InlineData("\"visibility\": \"public\", \"private\": false", RepositoryVisibility.Public)]
    [InlineData("\"private\": true", RepositoryVisibility.Private)]
    [InlineData("\"private\": false", RepositoryVisibility.Public)]
    [InlineData("\"visibility\": null", RepositoryVisibility.Public)]
    public void Repository_visibility_comes_from_visibility_then_private(string fields, RepositoryVisibility expected)
    {
        var json = """{"action":"queued","workflow_job":{"id":5},"repository":{"full_name":"o/r",""" + fields + "}}";

        Assert.Equal(expected, WorkflowJobPayload.Parse(Encoding.UTF8.GetBytes(json))!.Visibility);
    }

    [Fact]
    public void A_delivery_without_a_repository_has_unknown_visibility_and_a_wrongly_typed_private_flag_is_named()
    {
        Assert.Equal(RepositoryVisibility.Unknown, WorkflowJobPayload.Parse("""{"action":"queued","workflow_job":{"id":5}}"""u8)!.Visibility);

        var error = Assert.Throws<JsonException>(() => WorkflowJobPayload.Parse("""{"workflow_job":{"id":5},"repository":{"private":"yes"}}"""u8));
        Assert.Contains("repository.private", error.Message, StringComparison.Ordinal);
    }

    private sealed class CapturingProcessor : WebhookEventProcessor
    {
        public WebhookEvent? Event { get; private set; }

        protected override ValueTask ProcessWorkflowJobWebhookAsync(
            WebhookHeaders headers, WorkflowJobEvent workflowJobEvent, WorkflowJobAction action, CancellationToken cancellationToken = default)
        {
            Event = workflowJobEvent;
            return ValueTask.CompletedTask;
        }
    }
}
