using System.Diagnostics;
using System.Globalization;
using System.Reflection;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;

namespace Builtiful.Bench.Load;

/// <summary>
/// How the host child process is built. Production silos are published ReadyToRun (deploy/docker), so the bench
/// publishes this project ReadyToRun, without building it again, into <c>obj/host-r2r/</c> (git-ignored) and starts
/// <c>serve</c> from there. The publish is redone only when the build output changed (a stamp of the assemblies'
/// names, sizes and times); <c>--host=jit</c> starts the host from the build output instead, as before.
/// </summary>
public sealed class HostBuild
{
    private HostBuild(bool readyToRun, string entryAssembly, double? publishSeconds, bool? fromCache, string? failure)
    {
        ReadyToRun = readyToRun;
        EntryAssembly = entryAssembly;
        PublishSeconds = publishSeconds;
        FromCache = fromCache;
        Failure = failure;
    }

    /// <summary>The build output the bench runs from: the host's JIT-only form.</summary>
    public static HostBuild Jit { get; } = new(false, typeof(HostBuild).Assembly.Location, null, null, null);

    public bool ReadyToRun { get; }

    /// <summary>The Builtiful.Bench.dll the child runs (through <c>dotnet</c>).</summary>
    public string EntryAssembly { get; }

    public double? PublishSeconds { get; }

    public bool? FromCache { get; }

    /// <summary>Why the ReadyToRun publish failed, when it did and the host fell back to the build output.</summary>
    public string? Failure { get; }

    public JsonObject ToJson() => new()
    {
        ["ready_to_run"] = ReadyToRun,
        ["entry"] = ReadyToRun ? "obj/host-r2r (dotnet publish --no-build, PublishReadyToRun, this runtime identifier)" : "the build output (JIT only)",
        ["publish_seconds"] = PublishSeconds,
        ["publish_reused"] = FromCache,
        ["publish_failure"] = Failure,
        // The host inherits this process's environment: any DOTNET_ JIT setting given to the bench applies to it too.
        ["jit_settings"] = JitSettings(),
        ["not_ready_to_run"] = ReadyToRun ? "bench-only assemblies the host does not run (Roslyn, BenchmarkDotNet, diagnostics, AWSSDK.EC2 behind the stub cloud): see PublishReadyToRunExclude in Builtiful.Bench.csproj" : null,
    };

    /// <summary>Publishes the host ReadyToRun unless the cached publish matches the build output.</summary>
    public static async Task<HostBuild> PublishReadyToRunAsync(TimeSpan timeout)
    {
        var clock = Stopwatch.StartNew();
        var output = Path.GetDirectoryName(typeof(HostBuild).Assembly.Location)!;
        var project = FindProject(output);
        if (project is null)
        {
            return new HostBuild(false, Jit.EntryAssembly, null, null, "Builtiful.Bench.csproj not found above " + output);
        }

        var configuration = typeof(HostBuild).Assembly.GetCustomAttribute<AssemblyConfigurationAttribute>()?.Configuration ?? "Release";
        var publishDirectory = Path.Combine(Path.GetDirectoryName(project)!, "obj", "host-r2r", configuration);
        var entry = Path.Combine(publishDirectory, Path.GetFileName(Jit.EntryAssembly));
        var stampPath = Path.Combine(publishDirectory, ".inputs");
        var stamp = Stamp(output);
        if (File.Exists(entry) && File.Exists(stampPath) && await File.ReadAllTextAsync(stampPath) == stamp)
        {
            return new HostBuild(true, entry, Math.Round(clock.Elapsed.TotalSeconds, 1), true, null);
        }

        var start = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var arg in new[] { "publish", project, "-c", configuration, "--no-build", "-nologo", "-v:q", "-o", publishDirectory })
        {
            start.ArgumentList.Add(arg);
        }

        start.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        start.Environment["DOTNET_NOLOGO"] = "1";
        using var publish = Process.Start(start) ?? throw new InvalidOperationException("Could not start dotnet publish.");
        var stdout = publish.StandardOutput.ReadToEndAsync();
        var stderr = publish.StandardError.ReadToEndAsync();
        using var cancel = new CancellationTokenSource(timeout);
        try
        {
            await publish.WaitForExitAsync(cancel.Token);
        }
        catch (OperationCanceledException)
        {
            // Only the publish this bench started, by its own handle.
            publish.Kill(entireProcessTree: true);
            return new HostBuild(false, Jit.EntryAssembly, Math.Round(clock.Elapsed.TotalSeconds, 1), false, $"dotnet publish took longer than {timeout.TotalSeconds:0} s");
        }

        if (publish.ExitCode != 0 || !File.Exists(entry))
        {
            var text = (await stdout + await stderr).Trim();
            var last = string.Join('\n', text.Split('\n').TakeLast(10));
            return new HostBuild(false, Jit.EntryAssembly, Math.Round(clock.Elapsed.TotalSeconds, 1), false, $"dotnet publish exited {publish.ExitCode}: {last}");
        }

        await File.WriteAllTextAsync(stampPath, stamp);
        return new HostBuild(true, entry, Math.Round(clock.Elapsed.TotalSeconds, 1), false, null);
    }

    private static string JitSettings()
    {
        var set = new[] { "DOTNET_TieredCompilation", "DOTNET_TieredPGO", "DOTNET_ReadyToRun", "DOTNET_TC_QuickJitForLoops", "DOTNET_OSR_HitLimit", "DOTNET_TC_CallCountThreshold", "DOTNET_TC_CallCountingDelayMs" }
            .Where(name => Environment.GetEnvironmentVariable(name) is not null)
            .Select(name => $"{name}={Environment.GetEnvironmentVariable(name)}")
            .ToArray();
        return set.Length == 0 ? "runtime defaults: tiered compilation with dynamic PGO" : string.Join(", ", set);
    }

    private static string? FindProject(string from)
    {
        for (var directory = new DirectoryInfo(from); directory is not null; directory = directory.Parent)
        {
            var candidate = Path.Combine(directory.FullName, "Builtiful.Bench.csproj");
            if (File.Exists(candidate))
            {
                return candidate;
            }
        }

        return null;
    }

    /// <summary>Names, sizes and write times of the build output's assemblies and configs: what the publish reads.</summary>
    private static string Stamp(string output)
    {
        var text = new StringBuilder();
        foreach (var file in Directory.EnumerateFiles(output, "*", SearchOption.TopDirectoryOnly)
                     .Where(f => f.EndsWith(".dll", StringComparison.Ordinal) || f.EndsWith(".json", StringComparison.Ordinal))
                     .Order(StringComparer.Ordinal))
        {
            var info = new FileInfo(file);
            text.Append(CultureInfo.InvariantCulture, $"{info.Name} {info.Length} {info.LastWriteTimeUtc.Ticks}\n");
        }

        return Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(text.ToString())));
    }
}
