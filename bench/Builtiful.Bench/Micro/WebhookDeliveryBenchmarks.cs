using BenchmarkDotNet.Attributes;
using Builtiful.Bench.Load;
using Builtiful.Gateway.Webhooks;
using Builtiful.GitHub;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Primitives;
using Octokit.Webhooks;
using Octokit.Webhooks.Events;
using Octokit.Webhooks.Events.WorkflowJob;

namespace Builtiful.Bench.Micro;

/// <summary>
/// What the gateway does to every delivery before any grain is called: the HMAC-SHA256 check over the raw body and the
/// parse. "slim" is what the gateway runs for workflow_job: the secret encoded once, then <see cref="WorkflowJobPayload"/>
/// reading only the kept fields from the bytes. "Octokit" is what it ran before (and still runs for installation events):
/// the secret encoded per call, a case-insensitive header copy and Octokit.Webhooks' full model from a decoded string.
/// </summary>
[MemoryDiagnoser]
public class WebhookDeliveryBenchmarks
{
    private const string Secret = "bench-webhook-secret-0123456789";
    private byte[] _body = [];
    private string _signature = "";
    private HeaderDictionary _requestHeaders = [];
    private ParseOnlyProcessor _processor = new();
    private byte[] _secretKey = System.Text.Encoding.UTF8.GetBytes(Secret);

    [Params("queued", "completed")]
    public string Action { get; set; } = "queued";

    [GlobalSetup]
    public void Setup()
    {
        var deliveries = new Deliveries(Secret);
        _body = Action == "queued"
            ? deliveries.Body(Stage.Queued, 4_242_424_242, 42_424_242)
            : deliveries.Body(Stage.Completed, 4_242_424_242, 42_424_242, "builtiful-" + Guid.NewGuid().ToString("N"));
        _signature = WebhookSignature.Sign(Secret, _body);
        _requestHeaders = new HeaderDictionary
        {
            ["Content-Type"] = "application/json",
            ["User-Agent"] = "GitHub-Hookshot/bench",
            ["X-GitHub-Event"] = "workflow_job",
            ["X-GitHub-Delivery"] = Guid.NewGuid().ToString(),
            ["X-GitHub-Hook-ID"] = "109948940",
            ["X-GitHub-Hook-Installation-Target-Type"] = "integration",
            ["X-GitHub-Hook-Installation-Target-ID"] = "1024",
            [WebhookSignature.Header] = _signature,
        };
        _processor = new ParseOnlyProcessor();
        Parse().AsTask().GetAwaiter().GetResult();
        if (!Signature() || !SlimSignature() || _processor.Last?.Id != 4_242_424_242 || SlimParse()?.WorkflowJob?.Id != 4_242_424_242)
        {
            throw new InvalidOperationException("The delivery benchmark's payload does not verify or parse.");
        }
    }

    /// <summary>--quick: the gateway's whole per-delivery path only; its two halves are in the full run.</summary>
    public static bool IsGatewayDelivery(string method) => method == nameof(SlimSignatureAndParse);

    [Benchmark(Description = "HMAC check (Octokit path)")]
    public bool Signature() => WebhookSignature.IsValid(Secret, _body, _signature);

    [Benchmark(Description = "header copy + Octokit parse")]
    public ValueTask Parse()
    {
        // As WebhookEndpoint did: a case-insensitive copy of the request headers, then the processor.
        var headers = _requestHeaders.ToDictionary(h => h.Key, h => h.Value, StringComparer.OrdinalIgnoreCase);
        return _processor.ProcessWebhookAsync(headers, _body);
    }

    [Benchmark(Baseline = true, Description = "per delivery, Octokit (before)")]
    public ValueTask SignatureAndParse()
    {
        if (!Signature())
        {
            throw new InvalidOperationException("bad signature");
        }

        return Parse();
    }

    [Benchmark(Description = "HMAC check (slim)")]
    public bool SlimSignature() => WebhookSignature.IsValid(_secretKey, _body, _signature);

    [Benchmark(Description = "slim parse")]
    public WorkflowJobPayload? SlimParse() => WorkflowJobPayload.Parse(_body);

    [Benchmark(Description = "per delivery, slim (gateway)")]
    public WorkflowJobPayload? SlimSignatureAndParse()
    {
        if (!SlimSignature())
        {
            throw new InvalidOperationException("bad signature");
        }

        return SlimParse();
    }

    private sealed class ParseOnlyProcessor : WebhookEventProcessor
    {
        public Octokit.Webhooks.Models.WorkflowJobEvent.WorkflowJob? Last { get; private set; }

        protected override ValueTask ProcessWorkflowJobWebhookAsync(
            WebhookHeaders headers, WorkflowJobEvent workflowJobEvent, WorkflowJobAction action, CancellationToken cancellationToken = default)
        {
            Last = workflowJobEvent.WorkflowJob;
            return ValueTask.CompletedTask;
        }
    }
}
