using System.Diagnostics;
using Builtiful.Silo;

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
            ["run", "--Compute:Provider=Ec2", "--GitHub:Mode=App", "--GitHub:AppId=1", "--GitHub:PrivateKeyPath=/nonexistent.pem", "--ConnectionStrings:Builtiful="],
            output);

        Assert.Equal(2, exit);
        var message = output.ToString();
        Assert.Contains("ConnectionStrings:Builtiful is not set", message, StringComparison.Ordinal);
        Assert.DoesNotContain("Compute:Provider", message, StringComparison.Ordinal);
        Assert.DoesNotContain("GitHub:Mode", message, StringComparison.Ordinal);
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
