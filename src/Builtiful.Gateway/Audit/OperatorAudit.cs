using System.Security.Claims;
using Builtiful.Gateway.Admin;
using Builtiful.Gateway.Logging;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;

namespace Builtiful.Gateway.Audit;

/// <summary>
/// Audits every request to an endpoint that requires <see cref="AdminApi.OperatorPolicy"/>, allowed or denied, after
/// it ends. It wraps authentication, so refused attempts are recorded too; no endpoint has to remember to audit itself.
/// </summary>
public static class OperatorAudit
{
    private const int MaxTargetLength = 200;

    public static IApplicationBuilder UseOperatorAudit(this IApplicationBuilder app) => app.Use(async (context, next) =>
    {
        if (!IsAudited(context.GetEndpoint()))
        {
            await next(context);
            return;
        }

        try
        {
            await next(context);
        }
        catch (Exception)
        {
            Record(context, StatusCodes.Status500InternalServerError);
            throw;
        }

        Record(context, context.Response.StatusCode);
    });

    /// <summary>Whether an endpoint's requests are audited: it needs the operator policy, or says so with <see cref="AuditedAttribute"/>.</summary>
    public static bool IsAudited(Endpoint? endpoint) =>
        endpoint is not null
        && (endpoint.Metadata.GetOrderedMetadata<IAuthorizeData>().Any(a => a.Policy == AdminApi.OperatorPolicy)
            || endpoint.Metadata.GetMetadata<AuditedAttribute>() is not null);

    /// <summary>An audit event for this request as it stands, for endpoints that record more than the automatic one.</summary>
    public static AuditEvent Describe(HttpContext context, int status, string? outcome = null)
    {
        ArgumentNullException.ThrowIfNull(context);
        var user = context.User;
        var authenticated = user.Identity?.IsAuthenticated == true;
        var targets = new SortedDictionary<string, string>(StringComparer.Ordinal);
        foreach (var (key, value) in context.Request.RouteValues)
        {
            var text = LogRedactor.Redact(Convert.ToString(value, System.Globalization.CultureInfo.InvariantCulture) ?? "");
            targets[key] = text.Length > MaxTargetLength ? text[..MaxTargetLength] + "…" : text;
        }

        var clock = context.RequestServices.GetKeyedService<TimeProvider>(BuiltifulClock.Key) ?? TimeProvider.System;
        return new AuditEvent(
            clock.GetUtcNow(),
            authenticated ? user.Identity!.Name ?? "unnamed" : "anonymous",
            authenticated ? user.FindFirst(ClaimTypes.Role)?.Value : null,
            context.Request.Method,
            (context.GetEndpoint() as RouteEndpoint)?.RoutePattern.RawText ?? context.Request.Path.Value ?? "",
            targets,
            status,
            outcome ?? AuditOutcomes.FromStatus(status),
            System.Diagnostics.Activity.Current?.TraceId.ToString() ?? context.TraceIdentifier);
    }

    private static void Record(HttpContext context, int status) =>
        context.RequestServices.GetRequiredService<IAuditLog>().Record(Describe(context, status));
}

/// <summary>Marks an endpoint for auditing even when it does not carry the operator policy (for example the sign-in form).</summary>
[AttributeUsage(AttributeTargets.Class | AttributeTargets.Method)]
public sealed class AuditedAttribute : Attribute;
