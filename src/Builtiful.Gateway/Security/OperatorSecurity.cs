using Builtiful.Gateway.Admin;
using Builtiful.Gateway.Audit;
using Builtiful.Gateway.Logging;
using Builtiful.Gateway.Webhooks;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Builder;
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

    /// <summary>Audit around authentication, so refused operator attempts are recorded as well as allowed ones.</summary>
    public static IApplicationBuilder UseBuiltifulSecurity(this IApplicationBuilder app)
    {
        ArgumentNullException.ThrowIfNull(app);
        app.UseOperatorAudit();
        app.UseAuthentication();
        app.UseAuthorization();
        return app;
    }

    /// <summary>Requires role operator; the endpoint's requests are then audited.</summary>
    public static TBuilder RequireOperator<TBuilder>(this TBuilder builder)
        where TBuilder : IEndpointConventionBuilder => builder.RequireAuthorization(AdminApi.OperatorPolicy);
}
