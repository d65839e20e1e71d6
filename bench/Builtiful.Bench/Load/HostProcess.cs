using System.Diagnostics;
using System.Net.Http.Json;
using Builtiful.Bench.Hosting;

namespace Builtiful.Bench.Load;

/// <summary>
/// A Builtiful host in a child process (this same executable, <c>serve</c> mode), so that the host's CPU and memory
/// are measured apart from the load generator's. It runs with the server GC, as the Silo project does.
/// </summary>
public sealed class HostProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly Queue<string> _lastLines = new();
    private readonly HttpClient _control;
    private int _logLines;

    private HostProcess(Process process, Uri baseAddress)
    {
        _process = process;
        BaseAddress = baseAddress;
        _control = new HttpClient { BaseAddress = baseAddress, Timeout = TimeSpan.FromMinutes(2) };
    }

    public Uri BaseAddress { get; }

    public int ProcessId => _process.Id;

    /// <summary>Lines the host printed after it was ready (its warnings and errors; it logs at Warning).</summary>
    public int LogLines => Volatile.Read(ref _logLines);

    public string LastLines
    {
        get
        {
            lock (_lastLines)
            {
                return string.Join('\n', _lastLines);
            }
        }
    }

    public static async Task<HostProcess> StartAsync(HostBuild build, IReadOnlyDictionary<string, string> settings, TimeSpan timeout)
    {
        var self = Environment.ProcessPath ?? throw new InvalidOperationException("The bench cannot find its own executable.");
        var viaDotnet = Path.GetFileNameWithoutExtension(self) is "dotnet";
        // The build's own apphost (Builtiful.Bench beside Builtiful.Bench.dll), or dotnet with the dll when the bench runs that way.
        var apphost = Path.Combine(Path.GetDirectoryName(build.EntryAssembly)!, Path.GetFileNameWithoutExtension(build.EntryAssembly) + (OperatingSystem.IsWindows() ? ".exe" : ""));
        var startInfo = new ProcessStartInfo
        {
            FileName = viaDotnet || !File.Exists(apphost) ? (viaDotnet ? self : "dotnet") : apphost,
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        if (viaDotnet || !File.Exists(apphost))
        {
            startInfo.ArgumentList.Add(build.EntryAssembly);
        }

        startInfo.ArgumentList.Add("serve");
        foreach (var (key, value) in settings)
        {
            startInfo.ArgumentList.Add($"{key}={value}");
        }

        // The embedded host is a web project, whose runtime default is the server GC; the bench executable is not. Its runtime
        // config also turns off the thread pool's spinning (Builtiful.Embedded.csproj); the load generator keeps the default.
        startInfo.Environment["DOTNET_gcServer"] = "1";
        startInfo.Environment["DOTNET_ThreadPool_UnfairSemaphoreSpinLimit"] = "0";
        startInfo.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";

        var process = Process.Start(startInfo) ?? throw new InvalidOperationException("Could not start the bench host.");
        var ready = new TaskCompletionSource<Uri>(TaskCreationOptions.RunContinuationsAsynchronously);
        HostProcess? host = null;
        var early = new Queue<string>();
        void OnLine(string? line)
        {
            if (line is null)
            {
                ready.TrySetException(new InvalidOperationException("The bench host exited before it was ready:\n" + string.Join('\n', early)));
                return;
            }

            if (line.StartsWith(BenchHost.ReadyLine + " ", StringComparison.Ordinal))
            {
                ready.TrySetResult(new Uri(line[(BenchHost.ReadyLine.Length + 1)..]));
                return;
            }

            if (host is null)
            {
                lock (early)
                {
                    early.Enqueue(line);
                    if (early.Count > 200)
                    {
                        early.Dequeue();
                    }
                }
            }
            else
            {
                host.Remember(line);
            }
        }

        _ = PumpAsync(process.StandardOutput, OnLine);
        _ = PumpAsync(process.StandardError, OnLine);
        try
        {
            var address = await ready.Task.WaitAsync(timeout);
            host = new HostProcess(process, address);
            return host;
        }
        catch
        {
            Kill(process);
            process.Dispose();
            throw;
        }
    }

    public async Task<HostStats> StatsAsync() =>
        (await _control.GetFromJsonAsync<HostStats>("/__bench/stats"))!;

    /// <summary>Starts adding up the host's allocation samples by type (<see cref="Hosting.AllocationSampler"/>).</summary>
    public async Task StartAllocationSamplesAsync()
    {
        using var response = await _control.PostAsync("/__bench/allocations/start", null);
        response.EnsureSuccessStatusCode();
    }

    /// <summary>The host's allocation samples since <see cref="StartAllocationSamplesAsync"/>: total and the largest types.</summary>
    public async Task<System.Text.Json.JsonElement> AllocationSamplesAsync() =>
        await _control.GetFromJsonAsync<System.Text.Json.JsonElement>("/__bench/allocations");

    /// <summary>Managed bytes that survive two full, compacting collections in the host.</summary>
    public async Task<long> LiveManagedBytesAsync()
    {
        using var response = await _control.PostAsync("/__bench/gc", null);
        response.EnsureSuccessStatusCode();
        var json = await response.Content.ReadFromJsonAsync<System.Text.Json.JsonElement>();
        return json.GetProperty("totalMemoryBytes").GetInt64();
    }

    public async ValueTask DisposeAsync()
    {
        _control.Dispose();
        try
        {
            _process.StandardInput.Close();
            using var grace = new CancellationTokenSource(TimeSpan.FromSeconds(3));
            await _process.WaitForExitAsync(grace.Token);
        }
        catch (Exception ex) when (ex is OperationCanceledException or InvalidOperationException or IOException)
        {
            Kill(_process);
        }

        _process.Dispose();
    }

    private void Remember(string line)
    {
        Interlocked.Increment(ref _logLines);
        lock (_lastLines)
        {
            _lastLines.Enqueue(line);
            if (_lastLines.Count > 40)
            {
                _lastLines.Dequeue();
            }
        }
    }

    private static void Kill(Process process)
    {
        try
        {
            if (!process.HasExited)
            {
                // Only the host this bench started, by its own handle.
                process.Kill(entireProcessTree: true);
                process.WaitForExit(5000);
            }
        }
        catch (InvalidOperationException)
        {
            // Already gone.
        }
    }

    private static async Task PumpAsync(StreamReader reader, Action<string?> onLine)
    {
        try
        {
            while (await reader.ReadLineAsync() is { } line)
            {
                onLine(line);
            }
        }
        catch (IOException)
        {
            // The process went away.
        }

        onLine(null);
    }
}
