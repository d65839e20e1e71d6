using System.Globalization;
using System.Runtime.InteropServices;
using System.Text.Json.Nodes;

namespace Builtiful.Bench.Reporting;

/// <summary>The machine a run was made on: figures mean little without it.</summary>
public static class MachineInfo
{
    public static JsonObject Describe() => new()
    {
        ["cores"] = Environment.ProcessorCount,
        ["memory_bytes"] = MemoryBytes(),
        ["cpu_model"] = CpuModel(),
        ["os"] = RuntimeInformation.OSDescription,
        ["architecture"] = RuntimeInformation.OSArchitecture.ToString(),
        ["dotnet"] = RuntimeInformation.FrameworkDescription,
        ["dotnet_runtime_version"] = Environment.Version.ToString(),
        ["orleans"] = OrleansVersion(),
        ["host_gc"] = "server (DOTNET_gcServer=1, as the Silo project's runtime config)",
        ["host_thread_pool"] = "no spinning before idle threads wait (DOTNET_ThreadPool_UnfairSemaphoreSpinLimit=0, as the Silo project's runtime config)",
    };

    /// <summary>The commit measured, and whether the work tree had uncommitted changes under src/.</summary>
    public static JsonObject Source()
    {
        static string? Git(params string[] args)
        {
            try
            {
                var start = new System.Diagnostics.ProcessStartInfo("git") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
                foreach (var arg in args)
                {
                    start.ArgumentList.Add(arg);
                }

                using var git = System.Diagnostics.Process.Start(start);
                if (git is null)
                {
                    return null;
                }

                var output = git.StandardOutput.ReadToEnd().Trim();
                git.WaitForExit(5000);
                return git.ExitCode == 0 ? output : null;
            }
            catch (System.ComponentModel.Win32Exception)
            {
                return null;
            }
        }

        var root = Git("-C", AppContext.BaseDirectory, "rev-parse", "--show-toplevel");
        return new JsonObject
        {
            ["commit"] = root is null ? null : Git("-C", root, "rev-parse", "HEAD"),
            ["src_modified"] = root is null ? null : Git("-C", root, "status", "--porcelain", "--", "src") is { Length: > 0 },
        };
    }

    /// <summary>The Orleans package version ("10.4.2. Commit Hash: ..." in the assembly's informational version).</summary>
    private static string? OrleansVersion()
    {
        var informational = System.Reflection.CustomAttributeExtensions
            .GetCustomAttribute<System.Reflection.AssemblyInformationalVersionAttribute>(typeof(Orleans.IGrainFactory).Assembly)?.InformationalVersion;
        return informational?.Split(' ', '+')[0].TrimEnd('.');
    }

    public static string OneLine()
    {
        var gib = MemoryBytes() / (1024.0 * 1024 * 1024);
        return $"{Environment.ProcessorCount} cores ({CpuModel()}), {gib:0.0} GiB, {RuntimeInformation.OSDescription}, {RuntimeInformation.FrameworkDescription}";
    }

    private static long MemoryBytes()
    {
        try
        {
            var line = File.ReadLines("/proc/meminfo").First(l => l.StartsWith("MemTotal:", StringComparison.Ordinal));
            var kib = long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture);
            return kib * 1024;
        }
        catch (Exception ex) when (ex is IOException or InvalidOperationException or FormatException)
        {
            return GC.GetGCMemoryInfo().TotalAvailableMemoryBytes;
        }
    }

    private static string CpuModel()
    {
        try
        {
            var line = File.ReadLines("/proc/cpuinfo").FirstOrDefault(l => l.StartsWith("model name", StringComparison.Ordinal));
            return line is null ? "unknown" : line[(line.IndexOf(':', StringComparison.Ordinal) + 1)..].Trim();
        }
        catch (IOException)
        {
            return "unknown";
        }
    }
}
