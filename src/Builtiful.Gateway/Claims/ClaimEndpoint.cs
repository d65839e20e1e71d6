using System.Text.Json.Serialization;
using Builtiful.Gateway.Audit;
using Builtiful.Leases;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace Builtiful.Gateway.Claims;

/// <summary>
/// <c>POST /api/runners/claim</c>: anonymous but proven. A booted VM sends its instance identity document and signature
/// (base64), its lease id and its claim token; the gateway verifies the document and asks the lease, which mints the
/// runner config at that moment. Every claim, granted or refused, is audited; the config and token never are.
/// </summary>
public static class ClaimEndpoint
{
    public const string Path = "/api/runners/claim";

    public static IEndpointConventionBuilder MapRunnerClaims(this IEndpointRouteBuilder endpoints) =>
        endpoints.MapPost(Path, HandleAsync).DisableAntiforgery().WithName("RunnerClaims");

    /// <summary>A claim is a few KB (the document is under 1 KB); anything larger is not one.</summary>
    private const int MaxBytes = 32 * 1024;

    private static async Task<IResult> HandleAsync(HttpContext context, IdentityDocuments documents, IGrainFactory grains, IAuditLog audit)
    {
        ClaimBody? body = null;
        if (context.Request.ContentLength is null or <= MaxBytes)
        {
            try
            {
                body = await context.Request.ReadFromJsonAsync(ClaimJson.Default.ClaimBody, context.RequestAborted);
            }
            catch (Exception ex) when (ex is System.Text.Json.JsonException or InvalidOperationException or BadHttpRequestException)
            {
                // Not a claim: refused below like any malformed one.
            }
        }

        if (body is null || body.LeaseId == Guid.Empty || string.IsNullOrEmpty(body.Token) || !TryBase64(body.Document, out var document) || !TryBase64(body.Signature, out var signature))
        {
            return Refuse(context, audit, StatusCodes.Status400BadRequest, "Malformed claim", "Send leaseId, token, document and signature (base64).", null, body?.LeaseId);
        }

        var (identity, refusal) = documents.Verify(document, signature);
        if (identity is null)
        {
            return Refuse(context, audit, StatusCodes.Status403Forbidden, "Identity not proven", refusal!, null, body.LeaseId);
        }

        var answer = await grains.GetGrain<IVmLeaseGrain>(body.LeaseId).Claim(new ClaimRequest { InstanceId = identity.InstanceId, Token = body.Token });
        if (answer.Outcome == ClaimOutcome.Granted)
        {
            Record(context, audit, StatusCodes.Status200OK, "granted", identity.InstanceId, body.LeaseId);
            return Results.Json(new ClaimGranted(answer.RunnerName!, answer.EncodedJitConfig!), ClaimJson.Default.ClaimGranted);
        }

        if (answer.Outcome == ClaimOutcome.NotYet)
        {
            Record(context, audit, StatusCodes.Status503ServiceUnavailable, "not yet", identity.InstanceId, body.LeaseId);
            context.Response.Headers.RetryAfter = "2";
            return Results.Problem(statusCode: StatusCodes.Status503ServiceUnavailable, title: "Claim again shortly", detail: answer.Reason);
        }

        return Refuse(context, audit, StatusCodes.Status403Forbidden, "Claim refused", $"{answer.Outcome}: {answer.Reason}", identity.InstanceId, body.LeaseId);
    }

    private static IResult Refuse(HttpContext context, IAuditLog audit, int status, string title, string detail, string? instanceId, Guid? leaseId)
    {
        Record(context, audit, status, "refused: " + detail, instanceId, leaseId);
        return Results.Problem(statusCode: status, title: title, detail: detail);
    }

    /// <summary>The actor is the instance the document proves, if any; never the token or the config.</summary>
    private static void Record(HttpContext context, IAuditLog audit, int status, string outcome, string? instanceId, Guid? leaseId)
    {
        var targets = new Dictionary<string, string>(StringComparer.Ordinal);
        if (leaseId is { } lease)
        {
            targets["lease"] = lease.ToString("N");
        }

        audit.Record(OperatorAudit.Describe(context, status, outcome) with
        {
            Actor = instanceId is null ? "anonymous" : "instance:" + instanceId,
            Targets = targets,
        });
    }

    private static bool TryBase64(string? text, out byte[] bytes)
    {
        bytes = [];
        if (string.IsNullOrEmpty(text))
        {
            return false;
        }

        try
        {
            bytes = Convert.FromBase64String(text);
            return bytes.Length > 0;
        }
        catch (FormatException)
        {
            return false;
        }
    }
}

public sealed record ClaimBody(Guid LeaseId, string? Token, string? Document, string? Signature);

public sealed record ClaimGranted(string RunnerName, string EncodedJitConfig)
{
    public override string ToString() => $"ClaimGranted {{ RunnerName = {RunnerName}, EncodedJitConfig = [redacted] }}";
}

[JsonSourceGenerationOptions(System.Text.Json.JsonSerializerDefaults.Web)]
[JsonSerializable(typeof(ClaimBody))]
[JsonSerializable(typeof(ClaimGranted))]
internal sealed partial class ClaimJson : JsonSerializerContext;
