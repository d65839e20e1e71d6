using Builtiful.Providers;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace Builtiful.GitHub;

public static class GitHubAppServiceCollectionExtensions
{
    /// <summary>
    /// GitHub itself as the source of runner configs (<c>GitHub:Mode</c> = <c>App</c>): options validated at start,
    /// the named HttpClient, App JWT, token cache, rate-limit ledger and metrics, <see cref="IRunnerConfigSource"/>,
    /// <see cref="GitHubRunnerConfigSource"/> (listing for reconciliation) and <see cref="DeliveryRecovery"/>.
    /// </summary>
    public static IServiceCollection AddGitHubApp(this IServiceCollection services, IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        services.AddGitHubOptions(configuration);
        services.AddOptions<GitHubAppOptions>().Bind(configuration.GetSection(GitHubAppOptions.Section)).ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<GitHubAppOptions>, GitHubAppOptionsValidation>());
        services.TryAddKeyedSingleton(BuiltifulClock.Key, TimeProvider.System);
        services.AddMetrics();

        services.AddHttpClient(GitHubApi.HttpClientName, (provider, client) =>
        {
            var options = provider.GetRequiredService<IOptions<GitHubAppOptions>>().Value;
            var root = options.ApiUrl.ToString();
            client.BaseAddress = new Uri(root.EndsWith('/') ? root : root + "/");

            // GitHub:RequestTimeout and GitHub:TotalTimeout are enforced by the retry policy, on Builtiful's clock.
            client.Timeout = Timeout.InfiniteTimeSpan;
            client.DefaultRequestHeaders.UserAgent.ParseAdd("Builtiful");
            client.DefaultRequestHeaders.Accept.ParseAdd("application/vnd.github+json");
            client.DefaultRequestHeaders.Add("X-GitHub-Api-Version", "2022-11-28");
        })
            .ConfigurePrimaryHttpMessageHandler(OutboundTls.CreateHandler)
            .AddGitHubResilience()
            .AddHttpMessageHandler<GitHubAttemptHandler>();
        services.TryAddTransient<GitHubAttemptHandler>();

        services.TryAddSingleton<GitHubAppJwt>();
        services.TryAddSingleton<InstallationTokens>();
        services.TryAddSingleton<RateLimitLedger>();
        services.TryAddSingleton<GitHubMetrics>();
        services.TryAddSingleton<GitHubApi>();
        services.TryAddSingleton<GitHubRunnerConfigSource>();
        services.TryAddSingleton<DeliveryRecovery>();
        services.TryAddSingleton<ILostDeliveryRecovery>(sp => sp.GetRequiredService<DeliveryRecovery>());
        services.AddSingleton<IRunnerConfigSource>(provider => provider.GetRequiredService<GitHubRunnerConfigSource>());
        return services;
    }

    /// <summary>
    /// Section <c>GitHub</c> bound to <see cref="GitHubOptions"/> (mode, webhook secret) and validated at start through its
    /// generated validator; enough for a host that only receives webhooks.
    /// </summary>
    public static IServiceCollection AddGitHubOptions(this IServiceCollection services, IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        services.AddOptions<GitHubOptions>().Bind(configuration.GetSection(GitHubOptions.Section)).ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<GitHubOptions>, GitHubOptionsAnnotations>());
        return services;
    }
}
