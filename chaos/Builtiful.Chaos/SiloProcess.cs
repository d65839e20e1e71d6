using System.Diagnostics;
using System.Globalization;

namespace Builtiful.Chaos;

/// <summary>
/// One Builtiful silo in a process of its own, started as production starts it (<c>dotnet Builtiful.Embedded.dll</c>, the embedded host on PostgreSQL and a remote simulated cloud), its
/// output kept in a file, and killed with SIGKILL: no goodbye to the cluster, no state written on the way out.
/// </summary>
internal sealed class SiloProcess : IAsyncDisposable
{
    private static readonly TimeSpan ReadyTimeout = TimeSpan.FromSeconds(90);

    private readonly Process _process;
    private readonly StreamWriter _log;

    private SiloProcess(Process process, StreamWriter log, Uri baseAddress, string logPath)
    {
        _process = process;
        _log = log;
        BaseAddress = baseAddress;
        LogPath = logPath;
    }

    public Uri BaseAddress { get; }

    public Uri WebhookUrl => new(BaseAddress, "/api/github/webhooks");

    public string LogPath { get; }

    public bool Exited => _process.HasExited;

    /// <summary>Secrets go in <paramref name="environment"/>, never on the command line, where any process could read them.</summary>
    public static async Task<SiloProcess> StartAsync(
        string name, IReadOnlyDictionary<string, string> settings, IReadOnlyDictionary<string, string> environment, string logFolder, CancellationToken cancellationToken)
    {
        var port = FreePort();
        var baseAddress = new Uri($"http://127.0.0.1:{port.ToString(CultureInfo.InvariantCulture)}");
        var start = new ProcessStartInfo(DotnetHost())
        {
            WorkingDirectory = AppContext.BaseDirectory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
        };
        start.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "Builtiful.Embedded.dll"));
        start.ArgumentList.Add($"--urls={baseAddress}");
        start.ArgumentList.Add($"--contentRoot={AppContext.BaseDirectory}");
        start.ArgumentList.Add($"--Orleans:SiloPort={FreePort().ToString(CultureInfo.InvariantCulture)}");
        start.ArgumentList.Add($"--Orleans:GatewayPort={FreePort().ToString(CultureInfo.InvariantCulture)}");
        foreach (var (key, value) in settings)
        {
            start.ArgumentList.Add($"--{key}={value}");
        }

        foreach (var (key, value) in environment)
        {
            start.Environment[key] = value;
        }

        var logPath = Path.Combine(logFolder, name + ".log");
        var log = new StreamWriter(logPath, append: true) { AutoFlush = true };
        var process = new Process { StartInfo = start };
        process.OutputDataReceived += (_, e) => Append(log, e.Data);
        process.ErrorDataReceived += (_, e) => Append(log, e.Data);
        if (!process.Start())
        {
            throw new InvalidOperationException($"could not start silo {name}");
        }

        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        var silo = new SiloProcess(process, log, baseAddress, logPath);
        await silo.WaitUntilReadyAsync(name, cancellationToken);
        return silo;
    }

    /// <summary>SIGKILL, at once.</summary>
    public void Kill()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
        }
    }

    public async ValueTask DisposeAsync()
    {
        // The run is over and judged: how the silo ends no longer matters.
        Kill();
        await _process.WaitForExitAsync();
        _process.Dispose();
        await _log.DisposeAsync();
    }

    public string Tail(int lines)
    {
        lock (_log)
        {
            _log.Flush();
        }

        using var reader = new FileStream(LogPath, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
        using var text = new StreamReader(reader);
        return string.Join(Environment.NewLine, text.ReadToEnd().Split('\n').TakeLast(lines));
    }

    /// <summary>Ready when the silo's own readiness endpoint says it has joined an active cluster; a bounded poll of another process.</summary>
    private async Task WaitUntilReadyAsync(string name, CancellationToken cancellationToken)
    {
        using var http = new HttpClient { BaseAddress = BaseAddress, Timeout = TimeSpan.FromSeconds(5) };
        var started = Stopwatch.StartNew();
        while (true)
        {
            if (_process.HasExited)
            {
                throw new InvalidOperationException($"silo {name} exited with {_process.ExitCode} before it was ready:{Environment.NewLine}{Tail(40)}");
            }

            try
            {
                using var response = await http.GetAsync(new Uri("/readyz", UriKind.Relative), cancellationToken);
                if (response.IsSuccessStatusCode)
                {
                    return;
                }
            }
            catch (HttpRequestException)
            {
                // Not listening yet.
            }
            catch (TaskCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                // Listening, still starting.
            }

            if (started.Elapsed > ReadyTimeout)
            {
                Kill();
                throw new TimeoutException($"silo {name} was not ready after {ReadyTimeout}:{Environment.NewLine}{Tail(40)}");
            }

            await Task.Delay(TimeSpan.FromMilliseconds(250), cancellationToken);
        }
    }

    private static void Append(StreamWriter log, string? line)
    {
        if (line is null)
        {
            return;
        }

        lock (log)
        {
            log.WriteLine(line);
        }
    }

    /// <summary>The dotnet host running this process when there is one (under <c>dotnet test</c>), else the one on PATH.</summary>
    private static string DotnetHost() =>
        Environment.ProcessPath is { } path && Path.GetFileNameWithoutExtension(path) == "dotnet" ? path : "dotnet";

    private static int FreePort()
    {
        using var listener = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        listener.Start();
        return ((System.Net.IPEndPoint)listener.LocalEndpoint).Port;
    }
}
