namespace Builtiful.Cli.Tests;

/// <summary><c>builtiful pools</c> against an all-in-one with one warm pool.</summary>
public sealed class PoolsCommandTests : IAsyncLifetime
{
    private BuiltifulInstance _builtiful = null!;

    public async Task InitializeAsync() => _builtiful = await BuiltifulInstance.StartAsync(new Dictionary<string, string>
    {
        ["Simulation:BootDelay"] = "00:00:00.100",
        ["Pools:linux:MachineType"] = "builtiful-2vcpu-ubuntu-2404",
        ["Pools:linux:MinIdle"] = "1",
        ["Pools:linux:MaxIdle"] = "2",
        ["Claims:PoolWait"] = "00:00:01",
    });

    public Task DisposeAsync() => _builtiful.StopAsync();

    [Fact]
    public async Task Pools_list_show_and_set_with_a_clear_error_for_bad_bounds()
    {
        var list = await Cli.RunAsync(_builtiful, "pools", "list");
        Assert.True(list.ExitCode == 0, list.ToString());
        Assert.Contains(list.Output.Split('\n'), l => l.StartsWith("linux ", StringComparison.Ordinal) && l.Contains("builtiful-2vcpu-ubuntu-2404", StringComparison.Ordinal));

        var show = await Cli.RunAsync(_builtiful, "pools", "show", "linux");
        Assert.True(show.ExitCode == 0, show.ToString());
        Assert.Contains("\"idleLifetime\": \"00:30:00\"", show.Output, StringComparison.Ordinal);

        var bad = await Cli.RunAsync(_builtiful, "pools", "set", "linux", "--min-idle", "3", "--max-idle", "2");
        Assert.Equal(1, bad.ExitCode);
        Assert.Contains("minIdle 3 is more than maxIdle 2", bad.Error, StringComparison.Ordinal);

        var set = await Cli.RunAsync(_builtiful, "pools", "set", "linux", "--max-idle", "3");
        Assert.True(set.ExitCode == 0, set.ToString());
        Assert.Contains("\"maxIdle\": 3", set.Output, StringComparison.Ordinal);

        var missing = await Cli.RunAsync(_builtiful, "pools", "show", "windows");
        Assert.Equal(1, missing.ExitCode);
        Assert.Contains("No pool 'windows' is configured", missing.Error, StringComparison.Ordinal);
    }
}
