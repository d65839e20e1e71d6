using System.Security.Cryptography;
using Builtiful.Providers;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace Builtiful.GitHub.Tests;

public sealed class OptionsValidationTests
{
    [Fact]
    public void App_mode_with_a_missing_key_file_refuses_to_start_naming_the_setting()
    {
        var path = Path.Combine(Path.GetTempPath(), "builtiful-missing-" + Guid.NewGuid().ToString("N"), "app.pem");

        var failure = StartupFailure(new() { ["GitHub:AppId"] = "1", ["GitHub:PrivateKeyPath"] = path });

        Assert.Contains($"GitHub:PrivateKeyPath is '{path}', which does not exist.", failure.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void App_mode_without_any_key_or_App_id_says_which_settings_are_needed()
    {
        var failure = StartupFailure([]);

        Assert.Contains("GitHub:AppId is not set", failure.Message, StringComparison.Ordinal);
        Assert.Contains("neither GitHub:PrivateKeyPath nor GitHub:PrivateKey is set", failure.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_key_that_is_not_RSA_is_refused_without_echoing_it()
    {
        using var ec = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var pem = ec.ExportECPrivateKeyPem();

        var failure = StartupFailure(new() { ["GitHub:AppId"] = "1", ["GitHub:PrivateKey"] = pem });

        Assert.Contains("GitHub:PrivateKey does not hold a PEM-encoded, unencrypted RSA private key", failure.Message, StringComparison.Ordinal);
        Assert.DoesNotContain(pem.Split('\n')[1], failure.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_public_key_is_not_enough()
    {
        using var rsa = RSA.Create(2048);

        var failure = StartupFailure(new() { ["GitHub:AppId"] = "1", ["GitHub:PrivateKey"] = rsa.ExportSubjectPublicKeyInfoPem() });

        Assert.Contains("RSA private key", failure.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_key_file_in_PKCS8_or_a_key_with_escaped_line_breaks_is_accepted()
    {
        using var rsa = RSA.Create(2048);
        var path = Path.Combine(Path.GetTempPath(), "builtiful-key-" + Guid.NewGuid().ToString("N") + ".pem");
        await File.WriteAllTextAsync(path, rsa.ExportPkcs8PrivateKeyPem());
        try
        {
            using var fromFile = Build(new() { ["GitHub:AppId"] = "1", ["GitHub:PrivateKeyPath"] = path });
            fromFile.GetRequiredService<IStartupValidator>().Validate();
            Assert.IsType<GitHubRunnerConfigSource>(fromFile.GetRequiredService<IRunnerConfigSource>());
        }
        finally
        {
            File.Delete(path);
        }

        using var escaped = Build(new() { ["GitHub:AppId"] = "1", ["GitHub:PrivateKey"] = rsa.ExportRSAPrivateKeyPem().Replace("\n", "\\n", StringComparison.Ordinal) });
        escaped.GetRequiredService<IStartupValidator>().Validate();
    }

    [Fact]
    public void Defaults_match_githubs_public_API()
    {
        using var rsa = RSA.Create(2048);
        using var services = Build(new() { ["GitHub:AppId"] = "1", ["GitHub:PrivateKey"] = rsa.ExportRSAPrivateKeyPem() });

        var options = services.GetRequiredService<IOptions<GitHubAppOptions>>().Value;

        Assert.Equal(new Uri("https://api.github.com"), options.ApiUrl);
        Assert.Equal("_work", options.WorkFolder);
        Assert.Equal(TimeSpan.FromDays(3), options.RedeliveryWindow);
    }

    private static OptionsValidationException StartupFailure(Dictionary<string, string?> settings)
    {
        using var services = Build(settings);
        return Assert.Throws<OptionsValidationException>(() => services.GetRequiredService<IStartupValidator>().Validate());
    }

    private static ServiceProvider Build(Dictionary<string, string?> settings)
    {
        settings["GitHub:Mode"] = "App";
        return new ServiceCollection()
            .AddLogging()
            .AddGitHubApp(new ConfigurationBuilder().AddInMemoryCollection(settings).Build())
            .BuildServiceProvider();
    }
}
