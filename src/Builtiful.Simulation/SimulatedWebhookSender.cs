using System.Net.Http.Headers;
using System.Text.Json.Nodes;
using Builtiful.GitHub;
using Builtiful.Jobs;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Builtiful.Simulation;

/// <summary>
/// Sends <c>workflow_job</c> deliveries to the gateway the way GitHub does: a real payload with only the job's
/// fields changed, signed with the webhook secret.
/// </summary>
public sealed partial class SimulatedWebhookSender(
    IHttpClientFactory httpClients,
    IOptions<GitHubOptions> github,
    IOptionsMonitor<SimulationOptions> simulation,
    [FromKeyedServices(BuiltifulClock.Key)] TimeProvider time,
    SimulatedFaultLedger faults,
    ILogger<SimulatedWebhookSender> logger)
{
    private static readonly string InProgressTemplate = ReadPayload("workflow_job.in_progress.json");
    private static readonly string CompletedTemplate = ReadPayload("workflow_job.completed.json");

    /// <summary>Filled in by the all-in-one host once Kestrel knows its address, unless configured.</summary>
    public Uri? DiscoveredWebhookUrl { get; set; }

    public Task SendInProgressAsync(JobView job, string runnerName, DateTimeOffset startedAt, CancellationToken cancellationToken) =>
        SendAsync(Build(InProgressTemplate, job, runnerName, "in_progress", null, startedAt, null), cancellationToken);

    public Task SendCompletedAsync(JobView job, string runnerName, DateTimeOffset startedAt, DateTimeOffset completedAt, string conclusion, CancellationToken cancellationToken) =>
        SendAsync(Build(CompletedTemplate, job, runnerName, "completed", conclusion, startedAt, completedAt), cancellationToken);

    /// <summary>Edits a real payload so that every field Builtiful does not set stays as GitHub sends it.</summary>
    public static string Build(string template, JobView job, string runnerName, string action, string? conclusion, DateTimeOffset startedAt, DateTimeOffset? completedAt)
    {
        ArgumentNullException.ThrowIfNull(job);
        var root = JsonNode.Parse(template)!.AsObject();
        root["action"] = action;
        var wj = root["workflow_job"]!.AsObject();
        wj["id"] = job.Id;
        wj["run_id"] = job.RunId;
        wj["run_attempt"] = job.RunAttempt;
        wj["head_sha"] = job.HeadSha;
        wj["head_branch"] = job.Branch;
        wj["status"] = action;
        wj["conclusion"] = conclusion;
        wj["labels"] = new JsonArray([.. job.Labels.Select(l => JsonValue.Create(l))]);
        wj["runner_name"] = runnerName;
        wj["runner_group_name"] = "Default";
        wj["runner_group_id"] = 1;
        wj["created_at"] = job.QueuedAt?.ToString("O");
        wj["started_at"] = startedAt.ToString("O");
        wj["completed_at"] = completedAt?.ToString("O");
        wj["workflow_name"] = job.WorkflowName;
        wj["name"] = job.JobName ?? wj["name"]?.GetValue<string>();
        if (root["repository"] is JsonObject repository && job.Repository.Length > 0)
        {
            repository["full_name"] = job.Repository;
            repository["name"] = job.Repository[(job.Repository.IndexOf('/', StringComparison.Ordinal) + 1)..];
        }

        if (root["installation"] is JsonObject installation)
        {
            installation["id"] = job.InstallationId;
        }
        else
        {
            root["installation"] = new JsonObject { ["id"] = job.InstallationId, ["node_id"] = "" };
        }
        return root.ToJsonString();
    }

    private async Task SendAsync(string payload, CancellationToken cancellationToken)
    {
        var url = simulation.CurrentValue.WebhookUrl ?? DiscoveredWebhookUrl
            ?? throw new InvalidOperationException("Simulation:WebhookUrl is not set and the host has not published its address.");
        var secret = github.Value.WebhookSecret
            ?? throw new InvalidOperationException("GitHub:WebhookSecret is not set; simulated deliveries cannot be signed.");
        var body = System.Text.Encoding.UTF8.GetBytes(payload);
        var plan = simulation.CurrentValue.Faults;
        if (faults.Strike("github.dropped-delivery", plan.DeliveryDropRate, plan.Seed))
        {
            // Lost on the way; it arrives when the failed delivery is redelivered.
            await Task.Delay(plan.RedeliveryDelay, time, cancellationToken);
        }

        var copies = faults.Strike("github.duplicate-delivery", plan.DeliveryDuplicateRate, plan.Seed) ? 2 : 1;
        for (var copy = 0; copy < copies; copy++)
        {
            await DeliverAsync(url, secret, body, cancellationToken);
        }
    }

    private async Task DeliverAsync(Uri url, string secret, byte[] body, CancellationToken cancellationToken)
    {
        for (var attempt = 1; ; attempt++)
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, url);
            request.Content = new ByteArrayContent(body);
            request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
            request.Headers.Add("X-GitHub-Event", "workflow_job");
            request.Headers.Add("X-GitHub-Delivery", Guid.NewGuid().ToString());
            request.Headers.Add(WebhookSignature.Header, WebhookSignature.Sign(secret, body));
            request.Headers.UserAgent.ParseAdd("GitHub-Hookshot/builtiful-simulation");
            try
            {
                using var response = await httpClients.CreateClient(nameof(SimulatedWebhookSender)).SendAsync(request, cancellationToken);
                if (response.IsSuccessStatusCode)
                {
                    return;
                }

                LogRefused(logger, (int)response.StatusCode, attempt);
            }
            catch (HttpRequestException ex)
            {
                LogUnreachable(logger, url, ex.Message, attempt);
            }
            catch (TaskCanceledException ex) when (!cancellationToken.IsCancellationRequested)
            {
                // No answer within the client's timeout: GitHub records a failed delivery, which is redelivered.
                LogUnreachable(logger, url, ex.Message, attempt);
            }

            if (attempt >= simulation.CurrentValue.DeliveryAttempts)
            {
                LogGaveUp(logger, url, attempt);
                return;
            }

            // What GitHub's redelivery (driven by Builtiful's lost-delivery recovery) does for a delivery that failed.
            var backoff = TimeSpan.FromSeconds(Math.Min(Math.Pow(2, attempt - 1), 10));
            await Task.Delay(backoff, time, cancellationToken);
        }
    }

    private static string ReadPayload(string name)
    {
        using var stream = typeof(SimulatedWebhookSender).Assembly.GetManifestResourceStream($"Builtiful.Simulation.Payloads.{name}")
            ?? throw new InvalidOperationException($"Embedded payload {name} is missing.");
        using var reader = new StreamReader(stream);
        return reader.ReadToEnd();
    }

    [LoggerMessage(Level = LogLevel.Error, Message = "Simulated delivery to {Url} abandoned after {Attempts} attempts")]
    private static partial void LogGaveUp(ILogger logger, Uri url, int attempts);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Simulated delivery answered {Status} (attempt {Attempt})")]
    private static partial void LogRefused(ILogger logger, int status, int attempt);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Simulated delivery to {Url} failed: {Error} (attempt {Attempt})")]
    private static partial void LogUnreachable(ILogger logger, Uri url, string error, int attempt);
}
