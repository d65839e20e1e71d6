using System.Diagnostics;
using Builtiful.Silo;
using Microsoft.Extensions.Configuration;

namespace Builtiful.Silo.Tests;

/// <summary>The production silo starts only on real providers; anything simulated is the embedded host's.</summary>
public sealed class ProductionSiloTests
{
    [Fact]
    public async Task Without_real_providers_the_silo_process_refuses_to_start_and_names_each_missing_key()
    {
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        start.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "Builtiful.Silo.dll"));
        foreach (var variable in new[] { "Compute__Provider", "GitHub__Mode", "ConnectionStrings__Builtiful" })
        {
            start.Environment.Remove(variable);
        }

        using var process = Process.Start(start)!;
        var error = process.StandardError.ReadToEndAsync();
        var output = process.StandardOutput.ReadToEndAsync();
        await process.WaitForExitAsync().WaitAsync(TimeSpan.FromMinutes(1));

        Assert.Equal(2, process.ExitCode);
        var message = await error + await output;
        Assert.Contains("Compute:Provider is not set", message, StringComparison.Ordinal);
        Assert.Contains("GitHub:Mode is not set", message, StringComparison.Ordinal);
        Assert.Contains("ConnectionStrings:Builtiful is not set", message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task With_EC2_and_a_GitHub_App_but_no_database_only_the_connection_string_is_missing()
    {
        using var output = new StringWriter();

        var exit = await BuiltifulCommands.RunAsync(
            ["run", "--Compute:Provider=Ec2", "--GitHub:Mode=App", "--GitHub:AppId=1", "--GitHub:PrivateKeyPath=/nonexistent.pem", "--ConnectionStrings:Builtiful=",
                $"--Claims:Key={ClaimKey}", "--Claims:Url=https://builtiful.example.com/api/runners/claim"],
            output);

        Assert.Equal(2, exit);
        var message = output.ToString();
        Assert.Contains("ConnectionStrings:Builtiful is not set", message, StringComparison.Ordinal);
        Assert.DoesNotContain("Compute:Provider", message, StringComparison.Ordinal);
        Assert.DoesNotContain("GitHub:Mode", message, StringComparison.Ordinal);
        Assert.DoesNotContain("Claims:", message, StringComparison.Ordinal);
    }

    [Fact]
    public void The_silo_needs_a_shared_claim_key_and_an_https_claim_url_naming_each_key()
    {
        static IReadOnlyList<string> Problems(params (string Key, string Value)[] settings) => ProductionRequirements.ClaimProblems(
            new ConfigurationBuilder().AddInMemoryCollection(settings.Select(s => new KeyValuePair<string, string?>(s.Key, s.Value))).Build());

        var missing = Problems();
        var weak = Problems(("Claims:Key", Convert.ToBase64String(new byte[16])), ("Claims:Url", "http://builtiful.example.com/api/runners/claim"));
        var fine = Problems(("Claims:Key", ClaimKey), ("Claims:Url", "https://builtiful.example.com/api/runners/claim"));

        Assert.Equal(2, missing.Count);
        Assert.Contains(missing, p => p.StartsWith("Claims:Key is not set", StringComparison.Ordinal));
        Assert.Contains(missing, p => p.StartsWith("Claims:Url is not set", StringComparison.Ordinal));
        Assert.Contains(weak, p => p.StartsWith("Claims:Key is not base64 of at least 32 bytes", StringComparison.Ordinal));
        Assert.Contains(weak, p => p.Contains("must be an absolute https URL", StringComparison.Ordinal));
        Assert.Empty(fine);
    }

    private static readonly string ClaimKey = Convert.ToBase64String(new byte[32]);

    [Fact]
    public async Task EC2_without_its_own_cluster_name_is_refused_by_the_silo_process_naming_the_key()
    {
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        start.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "Builtiful.Silo.dll"));
        start.ArgumentList.Add("--Compute:Provider=Ec2");
        start.Environment.Remove("Compute__Ec2__ClusterName");

        using var process = Process.Start(start)!;
        var error = process.StandardError.ReadToEndAsync();
        var output = process.StandardOutput.ReadToEndAsync();
        await process.WaitForExitAsync().WaitAsync(TimeSpan.FromMinutes(1));

        Assert.Equal(2, process.ExitCode);
        Assert.Contains("Compute:Ec2:ClusterName is not set", await error + await output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task With_its_own_cluster_name_the_cluster_name_is_not_among_the_problems()
    {
        using var output = new StringWriter();

        var exit = await BuiltifulCommands.RunAsync(["run", "--Compute:Provider=Ec2", "--Compute:Ec2:ClusterName=builtiful-production", "--ConnectionStrings:Builtiful="], output);

        Assert.Equal(2, exit);
        Assert.DoesNotContain("ClusterName", output.ToString(), StringComparison.Ordinal);
        Assert.Contains("ConnectionStrings:Builtiful is not set", output.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public void The_embedded_host_refuses_EC2_without_a_cluster_name_and_EC2_on_in_memory_state_without_the_override()
    {
        var noName = Assert.Throws<Microsoft.Extensions.Options.OptionsValidationException>(() => EmbeddedHost.Build(["--Compute:Provider=Ec2", "--Compute:Ec2:AllowEphemeralState=true"]));
        Assert.Contains(noName.Failures, f => f.StartsWith("Compute:Ec2:ClusterName is not set", StringComparison.Ordinal));
        Assert.DoesNotContain(noName.Failures, f => f.Contains("in-memory", StringComparison.Ordinal));

        var ephemeral = Assert.Throws<Microsoft.Extensions.Options.OptionsValidationException>(() => EmbeddedHost.Build(["--Compute:Provider=Ec2", "--Compute:Ec2:ClusterName=trial"]));
        Assert.Contains(ephemeral.Failures, f => f.Contains("Compute:Ec2:AllowEphemeralState=true", StringComparison.Ordinal) && f.Contains("in-memory", StringComparison.Ordinal));
        Assert.DoesNotContain(ephemeral.Failures, f => f.Contains("ClusterName", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_simulated_cloud_is_refused_by_name()
    {
        using var output = new StringWriter();

        var exit = await BuiltifulCommands.RunAsync(["--Compute:Provider=Simulated"], output);

        Assert.Equal(2, exit);
        Assert.Contains("Compute:Provider is 'Simulated'", output.ToString(), StringComparison.Ordinal);
    }
}
