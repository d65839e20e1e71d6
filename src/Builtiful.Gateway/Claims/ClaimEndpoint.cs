using System.Text.Json.Serialization;
using Builtiful.Gateway.Audit;
using Builtiful.Leases;
using Builtiful.Pools;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace Builtiful.Gateway.Claims;

/// <summary>
/// <c>POST /api/runners/claim</c>: anonymous but proven. A booted VM sends its instance identity document and signature
/// (base64), its lease id and its claim token; the gateway verifies the document and asks the lease, which mints the
/// runner config at that moment. Every claim, granted or refused, is audited; the config and token never are. A pool
/// VM's claim is held (a long-poll) until a lease takes the VM, answered 202 to claim again if none does meanwhile.
/// </summary>
public static class ClaimEndpoint
{
    public const string Path = "/api/runners/claim";

    public static IEndpointConventionBuilder MapRunnerClaims(this IEndpointRouteBuilder endpoints) =>
        endpoints.MapPost(Path, HandleAsync).DisableAntiforgery().WithName("RunnerClaims");

    /// <summary>A claim is a few KB (the document is under 1 KB); anything larger is not one.</summary>
    private const int MaxBytes = 32 * 1024;

    private static async Task<IResult> HandleAsync(HttpContext context, IdentityDocuments documents, IGrainFactory grains, IAuditLog audit, Microsoft.Extensions.Options.IOptionsMonitor<RunnerClaimOptions> options)
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

        var leaseId = body.LeaseId;
        if (!string.IsNullOrEmpty(body.Pool))
        {
            // A pool VM: it holds until a lease takes it, then claims from that lease like any VM (the lease checks it all again).
            var pooled = await grains.Reference<IPoolGrain>(body.Pool).Claim(body.LeaseId, identity.InstanceId, body.Token, options.CurrentValue.PoolWait);
            if (pooled.Outcome == PoolClaimOutcome.Wait)
            {
                context.Response.Headers.RetryAfter = "1";
                return Results.Json(new ClaimWait(pooled.Reason), ClaimJson.Default.ClaimWait, statusCode: StatusCodes.Status202Accepted);
            }

            if (pooled.Outcome != PoolClaimOutcome.Taken || pooled.LeaseId is not { } taker)
            {
                return Refuse(context, audit, StatusCodes.Status403Forbidden, "Claim refused", $"pool {body.Pool}: {pooled.Outcome}: {pooled.Reason}", identity.InstanceId, body.LeaseId);
            }

            leaseId = taker;
        }

        var answer = await grains.Reference<IVmLeaseGrain>(leaseId).Claim(new ClaimRequest { InstanceId = identity.InstanceId, Token = body.Token });
        if (answer.Outcome == ClaimOutcome.Granted)
        {
            Record(context, audit, StatusCodes.Status200OK, "granted", identity.InstanceId, leaseId);
            return Results.Json(new ClaimGranted(answer.RunnerName!, answer.EncodedJitConfig!, answer.ExpiresAt), ClaimJson.Default.ClaimGranted);
        }

        if (answer.Outcome == ClaimOutcome.NotYet)
        {
            Record(context, audit, StatusCodes.Status503ServiceUnavailable, "not yet", identity.InstanceId, leaseId);
            context.Response.Headers.RetryAfter = "2";
            return Results.Problem(statusCode: StatusCodes.Status503ServiceUnavailable, title: "Claim again shortly", detail: answer.Reason);
        }

        return Refuse(context, audit, StatusCodes.Status403Forbidden, "Claim refused", $"{answer.Outcome}: {answer.Reason}", identity.InstanceId, leaseId);
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

/// <summary>A claim; <paramref name="Pool"/> names a pool VM's pool, and <paramref name="LeaseId"/> is then the pool VM's id.</summary>
public sealed record ClaimBody(Guid LeaseId, string? Token, string? Document, string? Signature, string? Pool = null);

/// <summary>The config, once; <paramref name="ExpiresAt"/> is the lease's deadline, which a pool VM's watchdog adopts.</summary>
public sealed record ClaimGranted(string RunnerName, string EncodedJitConfig, DateTimeOffset? ExpiresAt = null)
{
    public override string ToString() => $"ClaimGranted {{ RunnerName = {RunnerName}, EncodedJitConfig = [redacted], ExpiresAt = {ExpiresAt:O} }}";
}

/// <summary>202: a pool VM no job has taken yet; it claims again at once (the gateway held the request already).</summary>
public sealed record ClaimWait(string Reason);

[JsonSourceGenerationOptions(System.Text.Json.JsonSerializerDefaults.Web)]
[JsonSerializable(typeof(ClaimBody))]
[JsonSerializable(typeof(ClaimGranted))]
[JsonSerializable(typeof(ClaimWait))]
internal sealed partial class ClaimJson : JsonSerializerContext;
