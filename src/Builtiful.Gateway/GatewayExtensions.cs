using System.Security.Cryptography;
using Builtiful.Gateway.Admin;
using Builtiful.Gateway.Security;
using Builtiful.Gateway.Webhooks;
using Builtiful.GitHub;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using Builtiful.Hosting;
using Orleans.Dashboard;

namespace Builtiful.Gateway;

public static class GatewayExtensions
{
    /// <summary>
    /// Webhook endpoint, admin API and dashboard authentication. The webhook secret and an admin token must be configured
    /// (the embedded default calls <see cref="GenerateDevelopmentSecrets"/> first when it has no database).
    /// </summary>
    public static Microsoft.Extensions.Hosting.IHostApplicationBuilder AddBuiltifulGateway(this Microsoft.Extensions.Hosting.IHostApplicationBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.Services.AddGitHubOptions(builder.Configuration);
        builder.Services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<GitHubOptions>, WebhookSecretValidation>());
        builder.Services.AddOptions<GatewayOptions>().Bind(builder.Configuration.GetSection(GatewayOptions.Section));
        builder.Services.AddOptions<AdminOptions>().Bind(builder.Configuration.GetSection(AdminOptions.Section));
        builder.Services.AddOptions<Claims.RunnerClaimOptions>().Bind(builder.Configuration.GetSection(Claims.RunnerClaimOptions.Section));
        builder.Services.AddSingleton<Claims.IdentityDocuments>();
        builder.Services.AddScoped<BuiltifulWebhookProcessor>();
        builder.Services.AddProblemDetails();
        builder.AddBuiltifulOperations();
        builder.AddBuiltifulSecurity();
        return builder;
    }

    public static WebApplication MapBuiltifulGateway(this WebApplication app)
    {
        ArgumentNullException.ThrowIfNull(app);
        app.UseStatusCodePages();
        app.UseBuiltifulSecurity();
        app.MapGet("/healthz", () => TypedResults.Ok(new { status = "ok" }));
        app.MapGitHubWebhookEndpoint();
        Claims.ClaimEndpoint.MapRunnerClaims(app);
        app.MapAdminApiV1();
        app.MapBuiltifulOperations();
        app.MapLoginPage();
        app.MapOrleansDashboard("/dashboard").RequireAuthorization(AdminApi.Policy);
        return app;
    }

    /// <summary>
    /// For a process whose state dies with it (the embedded default, no database): a webhook secret and an admin token
    /// for this process only, where none is configured. Never for a PostgreSQL cluster, whose replicas must share theirs.
    /// </summary>
    public static GeneratedSecrets GenerateDevelopmentSecrets(IConfigurationManager configuration)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        string? webhookSecret = null;
        string? adminToken = null;
        if (!RequiredSecrets.HasWebhookSecret(configuration))
        {
            webhookSecret = NewSecret();
            configuration[RequiredSecrets.WebhookSecretKey] = webhookSecret;
        }

        if (!RequiredSecrets.HasAdminToken(configuration))
        {
            adminToken = NewSecret();
            configuration[RequiredSecrets.AdminTokenKey] = adminToken;
        }

        return new GeneratedSecrets(webhookSecret, adminToken);
    }

    private static string NewSecret() => Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(24));
}

/// <summary>Development secrets made at start-up because none were configured; they live only in this process.</summary>
public sealed record GeneratedSecrets(string? WebhookSecret, string? AdminToken)
{
    public bool Any => WebhookSecret is not null || AdminToken is not null;
}

/// <summary>A gateway verifies every delivery, so it does not start without the secret to verify them with.</summary>
internal sealed class WebhookSecretValidation : IValidateOptions<GitHubOptions>
{
    public ValidateOptionsResult Validate(string? name, GitHubOptions options) =>
        string.IsNullOrEmpty(options?.WebhookSecret)
            ? ValidateOptionsResult.Fail($"{RequiredSecrets.WebhookSecretKey} is not set: the gateway verifies every delivery's signature with it.")
            : ValidateOptionsResult.Success;
}
