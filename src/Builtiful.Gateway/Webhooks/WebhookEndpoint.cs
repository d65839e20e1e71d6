using System.Text.Json;
using Builtiful.GitHub;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Primitives;
using Octokit.Webhooks;
using Orleans.Runtime;

namespace Builtiful.Gateway.Webhooks;

/// <summary>
/// <c>POST /api/github/webhooks</c>. The signature is checked over the raw bytes before anything is parsed;
/// the answer comes once the owning grain has accepted the event.
/// </summary>
public static partial class WebhookEndpoint
{
    public const string Path = "/api/github/webhooks";

    private static readonly HashSet<string> HandledEvents = new(StringComparer.Ordinal)
    {
        "workflow_job", "installation", "installation_repositories", "ping",
    };

    public static IEndpointConventionBuilder MapGitHubWebhookEndpoint(this IEndpointRouteBuilder endpoints) =>
        endpoints.MapPost(Path, HandleAsync).DisableAntiforgery().WithName("GitHubWebhooks");

    private static async Task<IResult> HandleAsync(
        HttpContext context,
        IOptions<GitHubOptions> github,
        IOptions<GatewayOptions> gateway,
        BuiltifulWebhookProcessor processor,
        WebhookMetrics metrics,
        ILogger<BuiltifulWebhookProcessor> logger)
    {
        var request = context.Request;
        var limit = gateway.Value.MaxWebhookBytes;
        if (request.ContentLength > limit)
        {
            metrics.Refused(RefusalReasons.TooLarge);
            return Problem(StatusCodes.Status413PayloadTooLarge, "Delivery too large", $"The body is {request.ContentLength} bytes; the limit is {limit}.");
        }

        PooledBody body;
        try
        {
            body = await PooledBody.ReadAsync(request, limit, context.RequestAborted);
        }
        catch (IOException ex)
        {
            // Kestrel found the framing broken while we read it (a bad or overflowing chunk size, a body cut short);
            // it reports some of these as BadHttpRequestException and some as a bare IOException.
            metrics.Refused(RefusalReasons.Malformed);
            return Problem(ex is BadHttpRequestException bad ? bad.StatusCode : StatusCodes.Status400BadRequest, "Bad request body", Shorten(ex.Message));
        }

        try
        {
            return await HandleBodyAsync(context, body, github.Value, processor, metrics, logger);
        }
        finally
        {
            // Nothing parsed from the body refers to its bytes: the buffer goes back to the pool with the request.
            body.Dispose();
        }
    }

    private static async Task<IResult> HandleBodyAsync(
        HttpContext context, PooledBody body, GitHubOptions github, BuiltifulWebhookProcessor processor, WebhookMetrics metrics, ILogger logger)
    {
        var request = context.Request;
        if (body.TooLarge)
        {
            metrics.Refused(RefusalReasons.TooLarge);
            return Problem(StatusCodes.Status413PayloadTooLarge, "Delivery too large", $"The body exceeds the limit of {body.Limit} bytes.");
        }

        var headers = request.Headers;
        var eventName = headers["X-GitHub-Event"].ToString();
        var delivery = headers["X-GitHub-Delivery"].ToString();
        var signature = headers[WebhookSignature.Header].ToString();
        if (string.IsNullOrEmpty(signature))
        {
            LogUnsigned(logger, eventName, delivery);
            metrics.Refused(RefusalReasons.MissingSignature);
            return Problem(StatusCodes.Status401Unauthorized, "Missing signature", $"The {WebhookSignature.Header} header is required.");
        }

        if (!WebhookSignature.IsValid(SecretKey(github.WebhookSecret), body.Span, signature))
        {
            LogBadSignature(logger, eventName, delivery);
            metrics.Refused(RefusalReasons.BadSignature);
            return Problem(StatusCodes.Status401Unauthorized, "Bad signature", $"The {WebhookSignature.Header} header does not match the body under the configured webhook secret.");
        }

        if (string.IsNullOrWhiteSpace(eventName))
        {
            return Problem(StatusCodes.Status400BadRequest, "Missing event", "The X-GitHub-Event header is required.");
        }

        if (!HandledEvents.Contains(eventName))
        {
            return TypedResults.Accepted((string?)null, new DeliveryOutcome(eventName, null, "ignored: event Builtiful does not consume"));
        }

        if (request.ContentType is { } contentType && !contentType.StartsWith("application/json", StringComparison.OrdinalIgnoreCase))
        {
            metrics.Refused(RefusalReasons.UnsupportedMediaType);
            return Problem(StatusCodes.Status415UnsupportedMediaType, "Unsupported content type", $"Deliveries must be application/json, not {contentType}; set the webhook's content type to JSON.");
        }

        if (eventName == "ping")
        {
            // GitHub's check that the endpoint is alive. Its hook object varies across GitHub versions and Builtiful needs
            // none of it, so a ping is only checked to be JSON rather than held to the strict model of the parser.
            return IsJson(body.Memory)
                ? DeliveryAnswer.For(new DeliveryOutcome("ping", null, "pong"))
                : Problem(StatusCodes.Status400BadRequest, "Malformed payload", "The ping payload is not valid JSON.");
        }

        try
        {
            if (eventName == "workflow_job")
            {
                // The hot path: fields read straight from the signed bytes, no header copy, no string of the body.
                WorkflowJobPayload? job;
                try
                {
                    job = WorkflowJobPayload.Parse(body.Span);
                }
                catch (Exception ex) when (ex is not OutOfMemoryException)
                {
                    // JsonException with the field named, or the reader's own errors (an escaped lone surrogate is an
                    // InvalidOperationException): all of them the sender's 400, as on the Octokit path below.
                    return Malformed(eventName, delivery, Shorten(ex.Message), metrics, logger);
                }

                if (job is null)
                {
                    metrics.Refused(RefusalReasons.Malformed);
                    return Problem(StatusCodes.Status400BadRequest, "Malformed payload", $"The {eventName} payload is JSON null.");
                }

                await processor.ProcessWorkflowJobAsync(job, string.IsNullOrEmpty(delivery) ? null : delivery);
            }
            else
            {
                WebhookHeaders webhookHeaders;
                WebhookEvent? parsed;
                try
                {
                    // Parsing touches nothing but the payload, so whatever it throws (the parser's date converters throw
                    // FormatException, not JsonException) is the sender's 400, never our 500.
                    webhookHeaders = WebhookHeaders.Parse(headers.ToDictionary(h => h.Key, h => h.Value, StringComparer.OrdinalIgnoreCase));
                    parsed = processor.DeserializeWebhookEvent(webhookHeaders, StrictUtf8.GetString(body.Span));
                }
                catch (Exception ex) when (ex is not OutOfMemoryException)
                {
                    return Malformed(eventName, delivery, Shorten(ex.Message), metrics, logger);
                }

                if (parsed is null)
                {
                    metrics.Refused(RefusalReasons.Malformed);
                    return Problem(StatusCodes.Status400BadRequest, "Malformed payload", $"The {eventName} payload is JSON null.");
                }

                await processor.ProcessWebhookAsync(webhookHeaders, parsed, context.RequestAborted);
            }
        }
        catch (MalformedDeliveryException ex)
        {
            LogMalformed(logger, eventName, delivery, ex.Message);
            metrics.Refused(RefusalReasons.Malformed);
            return Problem(StatusCodes.Status400BadRequest, "Malformed payload", ex.Message);
        }
        catch (Exception ex) when (IsUnavailable(ex))
        {
            // The cluster or its database could not take the delivery: ours to answer, not the sender's, and not a bug
            // to surface as an unhandled 500. GitHub records the delivery as failed; delivery recovery redelivers it.
            var cause = $"{ex.GetType().Name}: {Shorten(ex.Message)}";
            LogUnavailable(logger, eventName, delivery, cause);
            metrics.Refused(RefusalReasons.Unavailable);
            context.Response.Headers.RetryAfter = RetryAfterSeconds;
            return Problem(
                StatusCodes.Status503ServiceUnavailable,
                "Builtiful is unavailable",
                $"The {eventName} delivery may not have been applied ({cause}). GitHub records it as failed and Builtiful's delivery recovery asks for it again; applying it twice changes nothing.");
        }

        return DeliveryAnswer.For(processor.Outcome ?? new DeliveryOutcome(eventName, null, "ignored"));
    }

    private static Microsoft.AspNetCore.Http.HttpResults.ProblemHttpResult Malformed(string eventName, string delivery, string error, WebhookMetrics metrics, ILogger logger)
    {
        LogMalformed(logger, eventName, delivery, error);
        metrics.Refused(RefusalReasons.Malformed);
        return Problem(StatusCodes.Status400BadRequest, "Malformed payload", $"The {eventName} payload is not valid JSON of the expected shape: {error}");
    }

    private const string RetryAfterSeconds = "30";

    /// <summary>
    /// Failures of the cluster or its storage rather than of the delivery: no silo or gateway answered or took the
    /// connection, a call timed out, the gateway was too busy, the database refused a grain's read or write, or a grain's
    /// stored state changed under it (it reloads). Anything else is a bug and stays a 500.
    /// </summary>
    public static bool IsUnavailable(Exception ex) => ex switch
    {
        TimeoutException or SiloUnavailableException or OrleansMessageRejectionException or GatewayTooBusyException
            // The client's connection to a silo's gateway failed or was refused (a silo just stopped, before the client
            // dropped it from its gateways).
            or Orleans.Runtime.Messaging.ConnectionFailedException or Orleans.Networking.Shared.SocketConnectionException
            or System.Data.Common.DbException or Orleans.Storage.InconsistentStateException => true,
        OrleansException { InnerException: { } inner } => IsUnavailable(inner),
        AggregateException { InnerExceptions.Count: 1 } aggregate => IsUnavailable(aggregate.InnerExceptions[0]),
        _ => false,
    };

    /// <summary>The webhook secret's UTF-8 bytes, encoded once rather than for every delivery.</summary>
    private static byte[] SecretKey(string? secret)
    {
        var cached = _secretKey;
        if (cached is not null && ReferenceEquals(cached.Secret, secret))
        {
            return cached.Key;
        }

        if (string.IsNullOrEmpty(secret))
        {
            return [];
        }

        _secretKey = cached = new EncodedSecret(secret, System.Text.Encoding.UTF8.GetBytes(secret));
        return cached.Key;
    }

    private static EncodedSecret? _secretKey;

    private sealed record EncodedSecret(string Secret, byte[] Key);

    /// <summary>GitHub sends UTF-8; anything else is refused rather than silently repaired with replacement characters.</summary>
    private static readonly System.Text.UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    /// <summary>Parser messages can quote the payload; a bounded excerpt is enough for a log line or a problem detail.</summary>
    private static string Shorten(string message) => message.Length <= 300 ? message : message[..300] + "…";

    private static bool IsJson(ReadOnlyMemory<byte> body)
    {
        try
        {
            using var document = JsonDocument.Parse(body);
            return true;
        }
        catch (JsonException)
        {
            return false;
        }
    }

    private static Microsoft.AspNetCore.Http.HttpResults.ProblemHttpResult Problem(int status, string title, string detail) =>
        TypedResults.Problem(statusCode: status, title: title, detail: detail);

    [LoggerMessage(Level = LogLevel.Warning, Message = "{Event} delivery {Delivery} answered 503, the cluster or its storage being unavailable: {Cause}")]
    private static partial void LogUnavailable(ILogger logger, string @event, string delivery, string cause);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Unsigned {Event} delivery {Delivery} refused")]
    private static partial void LogUnsigned(ILogger logger, string @event, string delivery);

    [LoggerMessage(Level = LogLevel.Warning, Message = "{Event} delivery {Delivery} refused: signature does not match")]
    private static partial void LogBadSignature(ILogger logger, string @event, string delivery);

    [LoggerMessage(Level = LogLevel.Warning, Message = "{Event} delivery {Delivery} refused as malformed: {Error}")]
    private static partial void LogMalformed(ILogger logger, string @event, string delivery, string error);
}
