using Builtiful.Gateway.Admin;
using Builtiful.Gateway.Audit;
using Builtiful.Gateway.Logging;
using Builtiful.Gateway.Webhooks;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;

namespace Builtiful.Gateway.Security;

/// <summary>
/// The gateway's security surface in one place: operator authentication and its two policies, the audit log, log
/// redaction, TLS 1.3-only HTTPS and the refused-delivery metric. Both hosts get it through AddBuiltifulGateway.
/// </summary>
public static class OperatorSecurity
{
    public static IHostApplicationBuilder AddBuiltifulSecurity(this IHostApplicationBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        var services = builder.Services;
        services.AddOptions<AdminOptions>().ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<AdminOptions>, AdminOptionsValidation>());
        services.TryAddSingleton<OperatorDirectory>();
        services.AddAuthentication(AdminTokenAuthentication.SchemeName)
            .AddScheme<AuthenticationSchemeOptions, AdminTokenAuthentication>(AdminTokenAuthentication.SchemeName, null);
        // Policies ask for roles, not for a scheme: an OIDC scheme added later only has to issue the same role claims.
        services.AddAuthorizationBuilder()
            .AddPolicy(AdminApi.ReadPolicy, policy => policy.RequireAuthenticatedUser().RequireRole(OperatorRoles.ReadOnly, OperatorRoles.Operator))
            .AddPolicy(AdminApi.OperatorPolicy, policy => policy.RequireAuthenticatedUser().RequireRole(OperatorRoles.Operator));
        services.TryAddKeyedSingleton(BuiltifulClock.Key, TimeProvider.System);
        services.TryAddSingleton<IAuditLog, AuditLog>();
        services.AddLogRedaction();
        services.AddTls13OnlyHttps();
        services.AddMetrics();
        services.TryAddSingleton<WebhookMetrics>();
        return builder;
    }

    /// <summary>
    /// Audit around authentication, so refused operator attempts are recorded as well as allowed ones. Operators are
    /// authenticated only where an identity is asked for: an endpoint with an authorization policy or an audited one, or a
    /// request no endpoint matched (middleware such as the dashboard's). GitHub's deliveries and the VMs' claims prove
    /// themselves (signature, identity document) and carry no operator token, so they skip the admin token handler.
    /// </summary>
    public static IApplicationBuilder UseBuiltifulSecurity(this IApplicationBuilder app)
    {
        ArgumentNullException.ThrowIfNull(app);
        app.UseOperatorAudit();
        app.UseWhen(AsksForIdentity, authenticated => authenticated.UseAuthentication());
        app.UseAuthorization();
        return app;
    }

    /// <summary>Whether a request needs the operator's identity: anything but an endpoint that neither authorizes nor audits.</summary>
    public static bool AsksForIdentity(HttpContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        return context.GetEndpoint() is not { } endpoint
            || endpoint.Metadata.GetMetadata<Microsoft.AspNetCore.Authorization.IAuthorizeData>() is not null
            || OperatorAudit.IsAudited(endpoint);
    }

    /// <summary>Requires role operator; the endpoint's requests are then audited.</summary>
    public static TBuilder RequireOperator<TBuilder>(this TBuilder builder)
        where TBuilder : IEndpointConventionBuilder => builder.RequireAuthorization(AdminApi.OperatorPolicy);
}
