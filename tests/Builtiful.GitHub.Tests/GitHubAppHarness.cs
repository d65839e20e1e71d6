using System.Security.Cryptography;
using Builtiful.GitHub.Tests.Fakes;
using Builtiful.Providers;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Builtiful.GitHub.Tests;

/// <summary>The GitHub App client as the host would register it, pointed at a fresh fake GitHub and a fake clock.</summary>
internal sealed class GitHubAppHarness : IAsyncDisposable
{
    public const long OrgInstallation = 42;
    public const long UserInstallation = 77;

    private GitHubAppHarness(RSA key, ObservedClock clock, GitHubFake gitHub, ServiceProvider services, CapturedLogs logs)
    {
        Key = key;
        Clock = clock;
        GitHub = gitHub;
        Services = services;
        Logs = logs;
    }

    public RSA Key { get; }

    public ObservedClock Clock { get; }

    public GitHubFake GitHub { get; }

    public ServiceProvider Services { get; }

    public CapturedLogs Logs { get; }

    public IRunnerConfigSource Runners => Services.GetRequiredService<IRunnerConfigSource>();

    public GitHubRunnerConfigSource Source => Services.GetRequiredService<GitHubRunnerConfigSource>();

    public DeliveryRecovery Recovery => Services.GetRequiredService<DeliveryRecovery>();

    public static async Task<GitHubAppHarness> StartAsync(Action<Dictionary<string, string?>>? configure = null)
    {
        var key = RSA.Create(2048);
        var clock = new ObservedClock();
        var gitHub = await GitHubFake.StartAsync(key, clock);
        var settings = new Dictionary<string, string?>
        {
            ["GitHub:Mode"] = "App",
            ["GitHub:ApiUrl"] = gitHub.ApiUrl.ToString(),
            ["GitHub:AppId"] = GitHubFake.AppId.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["GitHub:PrivateKey"] = key.ExportRSAPrivateKeyPem(),
        };
        configure?.Invoke(settings);
        clock.Timeouts.Add(Setting(settings, "GitHub:RequestTimeout") ?? new GitHubAppOptions().RequestTimeout);
        clock.Timeouts.Add(Setting(settings, "GitHub:TotalTimeout") ?? new GitHubAppOptions().TotalTimeout);
        var logs = new CapturedLogs();
        var services = new ServiceCollection()
            .AddLogging(logging => logging.SetMinimumLevel(LogLevel.Trace).AddProvider(logs))
            .AddKeyedSingleton<TimeProvider>(BuiltifulClock.Key, clock)
            .AddGitHubApp(new ConfigurationBuilder().AddInMemoryCollection(settings).Build())
            .BuildServiceProvider(new ServiceProviderOptions { ValidateOnBuild = true, ValidateScopes = true });
        return new GitHubAppHarness(key, clock, gitHub, services, logs);
    }

    private static TimeSpan? Setting(Dictionary<string, string?> settings, string key) =>
        settings.TryGetValue(key, out var value) && value is not null ? TimeSpan.Parse(value, System.Globalization.CultureInfo.InvariantCulture) : null;

    public static RunnerRegistration OrgRunner(string? name = null, long group = 1) => new()
    {
        InstallationId = OrgInstallation,
        RunnerName = name ?? "builtiful-" + Guid.NewGuid().ToString("N"),
        Labels = ["builtiful-4vcpu-ubuntu-2404"],
        AccountLogin = "acme",
        AccountType = "Organization",
        Repository = "acme/widgets",
        RunnerGroupId = group,
    };

    public static RunnerRegistration UserRunner(string? name = null) => new()
    {
        InstallationId = UserInstallation,
        RunnerName = name ?? "builtiful-" + Guid.NewGuid().ToString("N"),
        Labels = ["self-hosted", "builtiful-2vcpu-ubuntu-2204-arm"],
        AccountLogin = "octocat",
        AccountType = "User",
        Repository = "octocat/hello-world",
    };

    /// <summary>Nothing the fake handed out as a credential, nor the App key, appears in any log line.</summary>
    public void AssertNoSecretLogged()
    {
        var secrets = GitHub.Secrets.ToList();
        var pemBody = Key.ExportRSAPrivateKeyPem().Split('\n')[1];
        foreach (var line in Logs.Lines)
        {
            Assert.DoesNotContain(pemBody, line, StringComparison.Ordinal);
            foreach (var secret in secrets)
            {
                Assert.DoesNotContain(secret, line, StringComparison.Ordinal);
            }

            foreach (var jwt in GitHub.Requests.Where(r => r.Path.StartsWith("/app/", StringComparison.Ordinal)).Select(r => r.Bearer).Where(b => b.Length > 0))
            {
                Assert.DoesNotContain(jwt, line, StringComparison.Ordinal);
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        await Services.DisposeAsync();
        await GitHub.DisposeAsync();
        Key.Dispose();
    }
}

internal static class TaskBounds
{
    /// <summary>Every await on the code under test is bounded, so a bug fails the test instead of hanging it.</summary>
    public static Task<T> Bounded<T>(this Task<T> task) => task.WaitAsync(TimeSpan.FromSeconds(30));

    public static Task Bounded(this Task task) => task.WaitAsync(TimeSpan.FromSeconds(30));
}
