using System.Buffers;
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

        byte[]? body;
        try
        {
            body = await ReadBodyAsync(request, limit, context.RequestAborted);
        }
        catch (IOException ex)
        {
            // Kestrel found the framing broken while we read it (a bad or overflowing chunk size, a body cut short);
            // it reports some of these as BadHttpRequestException and some as a bare IOException.
            metrics.Refused(RefusalReasons.Malformed);
            return Problem(ex is BadHttpRequestException bad ? bad.StatusCode : StatusCodes.Status400BadRequest, "Bad request body", Shorten(ex.Message));
        }

        if (body is null)
        {
            metrics.Refused(RefusalReasons.TooLarge);
            return Problem(StatusCodes.Status413PayloadTooLarge, "Delivery too large", $"The body exceeds the limit of {limit} bytes.");
        }

        var eventName = request.Headers["X-GitHub-Event"].ToString();
        var delivery = request.Headers["X-GitHub-Delivery"].ToString();
        var signature = request.Headers[WebhookSignature.Header].ToString();
        if (string.IsNullOrEmpty(signature))
        {
            LogUnsigned(logger, eventName, delivery);
            metrics.Refused(RefusalReasons.MissingSignature);
            return Problem(StatusCodes.Status401Unauthorized, "Missing signature", $"The {WebhookSignature.Header} header is required.");
        }

        if (!WebhookSignature.IsValid(github.Value.WebhookSecret!, body, signature))
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
            return IsJson(body)
                ? TypedResults.Ok(new DeliveryOutcome("ping", null, "pong"))
                : Problem(StatusCodes.Status400BadRequest, "Malformed payload", "The ping payload is not valid JSON.");
        }

        WebhookHeaders headers;
        WebhookEvent? parsed;
        try
        {
            // Parsing touches nothing but the payload, so whatever it throws (the parser's date converters throw
            // FormatException, not JsonException) is the sender's 400, never our 500.
            headers = WebhookHeaders.Parse(request.Headers.ToDictionary(h => h.Key, h => h.Value, StringComparer.OrdinalIgnoreCase));
            parsed = processor.DeserializeWebhookEvent(headers, StrictUtf8.GetString(body));
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            var error = Shorten(ex.Message);
            LogMalformed(logger, eventName, delivery, error);
            metrics.Refused(RefusalReasons.Malformed);
            return Problem(StatusCodes.Status400BadRequest, "Malformed payload", $"The {eventName} payload is not valid JSON of the expected shape: {error}");
        }

        if (parsed is null)
        {
            metrics.Refused(RefusalReasons.Malformed);
            return Problem(StatusCodes.Status400BadRequest, "Malformed payload", $"The {eventName} payload is JSON null.");
        }

        try
        {
            await processor.ProcessWebhookAsync(headers, parsed, context.RequestAborted);
        }
        catch (MalformedDeliveryException ex)
        {
            LogMalformed(logger, eventName, delivery, ex.Message);
            metrics.Refused(RefusalReasons.Malformed);
            return Problem(StatusCodes.Status400BadRequest, "Malformed payload", ex.Message);
        }

        return TypedResults.Ok(processor.Outcome ?? new DeliveryOutcome(eventName, null, "ignored"));
    }

    /// <summary>GitHub sends UTF-8; anything else is refused rather than silently repaired with replacement characters.</summary>
    private static readonly System.Text.UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    /// <summary>Parser messages can quote the payload; a bounded excerpt is enough for a log line or a problem detail.</summary>
    private static string Shorten(string message) => message.Length <= 300 ? message : message[..300] + "…";

    private static bool IsJson(byte[] body)
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

    /// <summary>Reads at most <paramref name="limit"/> bytes; null when the body is longer (chunked bodies have no length up front).</summary>
    private static async Task<byte[]?> ReadBodyAsync(HttpRequest request, int limit, CancellationToken cancellationToken)
    {
        using var buffer = new MemoryStream(request.ContentLength is { } length and > 0 ? (int)length : 16 * 1024);
        var chunk = ArrayPool<byte>.Shared.Rent(16 * 1024);
        try
        {
            int read;
            while ((read = await request.Body.ReadAsync(chunk, cancellationToken)) > 0)
            {
                if (buffer.Length + read > limit)
                {
                    return null;
                }

                buffer.Write(chunk, 0, read);
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(chunk);
        }

        return buffer.ToArray();
    }

    private static Microsoft.AspNetCore.Http.HttpResults.ProblemHttpResult Problem(int status, string title, string detail) =>
        TypedResults.Problem(statusCode: status, title: title, detail: detail);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Unsigned {Event} delivery {Delivery} refused")]
    private static partial void LogUnsigned(ILogger logger, string @event, string delivery);

    [LoggerMessage(Level = LogLevel.Warning, Message = "{Event} delivery {Delivery} refused: signature does not match")]
    private static partial void LogBadSignature(ILogger logger, string @event, string delivery);

    [LoggerMessage(Level = LogLevel.Warning, Message = "{Event} delivery {Delivery} refused as malformed: {Error}")]
    private static partial void LogMalformed(ILogger logger, string @event, string delivery, string error);
}
