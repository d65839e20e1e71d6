using System.Diagnostics.Metrics;
using Builtiful.Gateway.Webhooks;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;

namespace Builtiful.Gateway.Metrics;

/// <summary>
/// <c>builtiful.webhook.deliveries</c>: every delivery to the webhook endpoint, by event and outcome. Counted around
/// the endpoint rather than inside it, so refusals before parsing (signature, size, media type) are counted too.
/// </summary>
public sealed class WebhookDeliveryMetrics
{
    public const string DeliveriesName = "builtiful.webhook.deliveries";

    // Only events Builtiful knows become label values: the header is unverified on refused deliveries.
    private static readonly HashSet<string> KnownEvents = new(StringComparer.Ordinal) { "workflow_job", "installation", "installation_repositories", "ping" };

    private readonly Counter<long> _deliveries;

    public WebhookDeliveryMetrics(IMeterFactory meters)
    {
        ArgumentNullException.ThrowIfNull(meters);
        _deliveries = meters.Create(WebhookMetrics.MeterName).CreateCounter<long>(
            DeliveriesName, "{delivery}", "Webhook deliveries received, by event and outcome (applied, ignored, rejected, unauthorized, malformed, ...).");
    }

    public void Record(string? eventName, string outcome) => _deliveries.Add(1,
        new KeyValuePair<string, object?>("event", eventName is not null && KnownEvents.Contains(eventName) ? eventName : "other"),
        new KeyValuePair<string, object?>("outcome", outcome));

    /// <summary>A short, bounded outcome: the processor's verdict on success, otherwise what the status code says.</summary>
    public static string Outcome(int status, string? eventName, DeliveryOutcome? processed) => status switch
    {
        StatusCodes.Status200OK when eventName == "ping" => "pong",
        StatusCodes.Status200OK => Verdict(processed?.Outcome),
        StatusCodes.Status202Accepted => "ignored",
        StatusCodes.Status400BadRequest => "malformed",
        StatusCodes.Status401Unauthorized => "unauthorized",
        StatusCodes.Status413PayloadTooLarge => "too_large",
        StatusCodes.Status415UnsupportedMediaType => "unsupported_media_type",
        >= 500 => "error",
        _ => "other",
    };

    // "ignored: action Builtiful does not act on" → "ignored"; the grain's outcomes are applied, ignored and rejected.
    private static string Verdict(string? outcome)
    {
        var verdict = outcome.AsSpan();
        if (verdict.IndexOf(':') is var colon and >= 0)
        {
            verdict = verdict[..colon];
        }

        return verdict switch
        {
            "applied" => "applied",
            "ignored" => "ignored",
            "rejected" => "rejected",
            _ => "other",
        };
    }
}

public static class WebhookDeliveryMetricsMiddleware
{
    public static IApplicationBuilder UseWebhookDeliveryMetrics(this IApplicationBuilder app) => app.Use(async (context, next) =>
    {
        if (!HttpMethods.IsPost(context.Request.Method) || !context.Request.Path.Equals(WebhookEndpoint.Path, StringComparison.OrdinalIgnoreCase))
        {
            await next(context);
            return;
        }

        var status = StatusCodes.Status500InternalServerError;
        try
        {
            await next(context);
            status = context.Response.StatusCode;
        }
        finally
        {
            var eventName = context.Request.Headers["X-GitHub-Event"].ToString();
            var processed = context.RequestServices.GetService<BuiltifulWebhookProcessor>()?.Outcome;
            context.RequestServices.GetRequiredService<WebhookDeliveryMetrics>()
                .Record(eventName, WebhookDeliveryMetrics.Outcome(status, eventName, processed));
        }
    });
}
