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
using Orleans.Dashboard;

namespace Builtiful.Gateway;

public static class GatewayExtensions
{
    /// <summary>
    /// Webhook endpoint, admin API and dashboard authentication. Without a configured webhook secret or admin
    /// token, development ones are generated and printed once, so a fresh machine needs no setup.
    /// </summary>
    public static GeneratedSecrets AddBuiltifulGateway(this Microsoft.Extensions.Hosting.IHostApplicationBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        var generated = EnsureSecrets(builder.Configuration);
        builder.Services.AddOptions<GitHubOptions>().Bind(builder.Configuration.GetSection(GitHubOptions.Section));
        builder.Services.AddOptions<GatewayOptions>().Bind(builder.Configuration.GetSection(GatewayOptions.Section));
        builder.Services.AddOptions<AdminOptions>().Bind(builder.Configuration.GetSection(AdminOptions.Section));
        builder.Services.AddSingleton<GatewayGrains>();
        builder.Services.AddOptions<Claims.RunnerClaimOptions>().Bind(builder.Configuration.GetSection(Claims.RunnerClaimOptions.Section));
        builder.Services.AddSingleton<Claims.IdentityDocuments>();
        builder.Services.AddScoped<BuiltifulWebhookProcessor>();
        builder.Services.AddProblemDetails();
        builder.AddBuiltifulOperations();
        builder.AddBuiltifulSecurity();
        return generated;
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

    private static GeneratedSecrets EnsureSecrets(IConfigurationManager configuration)
    {
        string? webhookSecret = null;
        string? adminToken = null;
        if (string.IsNullOrEmpty(configuration["GitHub:WebhookSecret"]))
        {
            webhookSecret = NewSecret();
            configuration["GitHub:WebhookSecret"] = webhookSecret;
        }

        if (string.IsNullOrEmpty(configuration["Admin:Token"]) && !configuration.GetSection("Admin:Tokens").GetChildren().Any())
        {
            adminToken = NewSecret();
            configuration["Admin:Token"] = adminToken;
        }

        return new GeneratedSecrets(webhookSecret, adminToken);
    }

    private static string NewSecret() => Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(24));
}

/// <summary>Development secrets made at start-up because none were configured; the host prints them once to the console.</summary>
public sealed record GeneratedSecrets(string? WebhookSecret, string? AdminToken)
{
    public bool Any => WebhookSecret is not null || AdminToken is not null;
}
