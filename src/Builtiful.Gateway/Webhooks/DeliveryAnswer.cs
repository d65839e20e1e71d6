using System.Collections.Concurrent;
using System.Text.Json.Serialization;
using Microsoft.AspNetCore.Http;

namespace Builtiful.Gateway.Webhooks;

/// <summary>
/// The 200 answer to a delivery: its <see cref="DeliveryOutcome"/> as JSON (<c>{"event":…,"action":…,"outcome":…}</c>),
/// the body <c>TypedResults.Ok(outcome)</c> writes, encoded once per distinct outcome instead of serialised for every
/// delivery. The outcomes are few (an event, GitHub's action, one of the gateway's verdicts); past
/// <see cref="MaxEncoded"/> distinct ones (only a sender with the secret could make more) the rest are encoded each time.
/// </summary>
internal sealed class DeliveryAnswer(byte[] body) : IResult
{
    internal const int MaxEncoded = 256;

    private static readonly ConcurrentDictionary<DeliveryOutcome, byte[]> Encoded = new();

    public static DeliveryAnswer For(DeliveryOutcome outcome)
    {
        if (Encoded.TryGetValue(outcome, out var body))
        {
            return new DeliveryAnswer(body);
        }

        body = System.Text.Json.JsonSerializer.SerializeToUtf8Bytes(outcome, DeliveryAnswerJson.Default.DeliveryOutcome);
        if (Encoded.Count < MaxEncoded)
        {
            Encoded.TryAdd(outcome, body);
        }

        return new DeliveryAnswer(body);
    }

    public Task ExecuteAsync(HttpContext httpContext)
    {
        ArgumentNullException.ThrowIfNull(httpContext);
        var response = httpContext.Response;
        response.StatusCode = StatusCodes.Status200OK;
        response.ContentType = "application/json; charset=utf-8";
        response.ContentLength = body.Length;
        return response.Body.WriteAsync(body, httpContext.RequestAborted).AsTask();
    }
}

[JsonSourceGenerationOptions(System.Text.Json.JsonSerializerDefaults.Web)]
[JsonSerializable(typeof(DeliveryOutcome))]
internal sealed partial class DeliveryAnswerJson : JsonSerializerContext;
