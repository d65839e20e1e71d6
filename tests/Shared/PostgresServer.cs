using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.RegularExpressions;
using Npgsql;

namespace Builtiful.Testing;

/// <summary>
/// A throw-away PostgreSQL server for the tests: its own data folder, a free loopback port, trust auth,
/// started with initdb and pg_ctl from this machine and removed again on dispose.
/// </summary>
public sealed partial class PostgresServer : IAsyncLifetime
{
    private const string SuperUser = "postgres";
    private const string ServiceAccount = "postgres";
    private static readonly TimeSpan CommandTimeout = TimeSpan.FromSeconds(90);
    private static readonly TimeSpan ReadyTimeout = TimeSpan.FromSeconds(60);

    private string? binDirectory;
    private string? rootDirectory;
    private bool runAsServiceAccount;

    public string ConnectionString { get; private set; } = "";

    public int Port { get; private set; }

    private string DataDirectory => Path.Combine(RootDirectory, "data");

    private string LogFile => Path.Combine(RootDirectory, "postgres.log");

    private string RootDirectory => rootDirectory ?? throw new InvalidOperationException("The PostgreSQL server has not been initialised.");

    public async Task InitializeAsync()
    {
        binDirectory = FindBinDirectory();
        // initdb refuses to run as root, so as root everything runs as the postgres account, which must own the folder.
        runAsServiceAccount = Environment.IsPrivilegedProcess;
        rootDirectory = Directory.CreateTempSubdirectory("builtiful-pg-").FullName;
        if (runAsServiceAccount)
        {
            await RunAsync("chown", ["-R", $"{ServiceAccount}:{ServiceAccount}", RootDirectory], asServiceAccount: false);
        }

        await RunPostgresToolAsync("initdb", ["-D", DataDirectory, "-U", SuperUser, "--auth=trust", "--encoding=UTF8", "--no-locale", "--no-sync"]);
        await File.AppendAllTextAsync(Path.Combine(DataDirectory, "postgresql.conf"), "\ninclude 'builtiful.conf'\n");

        // The port is free when picked but could be taken before the server binds it: pick again a few times.
        for (var attempt = 1; ; attempt++)
        {
            Port = PickFreeLoopbackPort();
            await WriteServerSettingsAsync();
            try
            {
                await RunPostgresToolAsync("pg_ctl", ["start", "-D", DataDirectory, "-l", LogFile, "-w", "-t", "60"]);
                break;
            }
            catch (InvalidOperationException) when (attempt < 3 && ServerLog().Contains("could not bind", StringComparison.Ordinal))
            {
            }
        }

        ConnectionString = new NpgsqlConnectionStringBuilder
        {
            Host = "127.0.0.1",
            Port = Port,
            Username = SuperUser,
            Database = "postgres",
            IncludeErrorDetail = true,
            Timeout = 15,
        }.ConnectionString;
        await WaitUntilAcceptingConnectionsAsync();
    }

    public async Task DisposeAsync()
    {
        if (rootDirectory is null)
        {
            return;
        }

        NpgsqlConnection.ClearAllPools();
        try
        {
            if (File.Exists(Path.Combine(DataDirectory, "postmaster.pid")))
            {
                await RunPostgresToolAsync("pg_ctl", ["stop", "-D", DataDirectory, "-m", "fast", "-w", "-t", "60"]);
            }
        }
        finally
        {
            Directory.Delete(rootDirectory, recursive: true);
            rootDirectory = null;
        }
    }

    /// <summary>Creates an empty database and returns a connection string to it.</summary>
    public async Task<string> CreateDatabaseAsync(string name)
    {
        if (!DatabaseName().IsMatch(name))
        {
            throw new ArgumentException($"'{name}' is not a plain lower-case database name.", nameof(name));
        }

        await using (var connection = new NpgsqlConnection(ConnectionString))
        {
            await connection.OpenAsync();
            await using var command = new NpgsqlCommand($"CREATE DATABASE \"{name}\"", connection);
            await command.ExecuteNonQueryAsync();
        }

        return new NpgsqlConnectionStringBuilder(ConnectionString) { Database = name }.ConnectionString;
    }

    /// <summary>Restarts the server (fast shutdown) and waits until it accepts connections again; pooled connections are dropped.</summary>
    public async Task RestartAsync()
    {
        await RunPostgresToolAsync("pg_ctl", ["restart", "-D", DataDirectory, "-l", LogFile, "-m", "fast", "-w", "-t", "60"]);
        NpgsqlConnection.ClearAllPools();
        await WaitUntilAcceptingConnectionsAsync();
    }

    private async Task WriteServerSettingsAsync()
    {
        var settings = $"""
            listen_addresses = '127.0.0.1'
            port = {Port}
            unix_socket_directories = '{RootDirectory}'
            max_connections = 200
            fsync = off
            synchronous_commit = off
            full_page_writes = off
            """;
        await File.WriteAllTextAsync(Path.Combine(DataDirectory, "builtiful.conf"), settings + "\n");
    }

    private async Task WaitUntilAcceptingConnectionsAsync()
    {
        var deadline = Stopwatch.StartNew();
        var probe = new NpgsqlConnectionStringBuilder(ConnectionString) { Pooling = false, Timeout = 2 }.ConnectionString;
        while (true)
        {
            try
            {
                await using var connection = new NpgsqlConnection(probe);
                await connection.OpenAsync();
                await using var command = new NpgsqlCommand("SELECT 1", connection);
                await command.ExecuteScalarAsync();
                return;
            }
            catch (NpgsqlException) when (deadline.Elapsed < ReadyTimeout)
            {
                await Task.Delay(TimeSpan.FromMilliseconds(100));
            }
            catch (NpgsqlException ex)
            {
                throw new InvalidOperationException(
                    $"PostgreSQL on 127.0.0.1:{Port} did not accept connections within {ReadyTimeout.TotalSeconds:0} s. Server log:\n{ServerLog()}", ex);
            }
        }
    }

    private Task<string> RunPostgresToolAsync(string tool, IReadOnlyList<string> arguments)
        => RunAsync(Path.Combine(binDirectory!, tool), arguments, runAsServiceAccount);

    private async Task<string> RunAsync(string fileName, IReadOnlyList<string> arguments, bool asServiceAccount)
    {
        var startInfo = new ProcessStartInfo
        {
            FileName = asServiceAccount ? "runuser" : fileName,
            // The postgres account may not be able to enter the test's working directory.
            WorkingDirectory = RootDirectory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        if (asServiceAccount)
        {
            foreach (var prefix in new[] { "-u", ServiceAccount, "--", fileName })
            {
                startInfo.ArgumentList.Add(prefix);
            }
        }

        foreach (var argument in arguments)
        {
            startInfo.ArgumentList.Add(argument);
        }

        using var process = Process.Start(startInfo) ?? throw new InvalidOperationException($"Could not start {fileName}.");
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(CommandTimeout);
        try
        {
            await process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw new InvalidOperationException($"{Describe(startInfo)} did not finish within {CommandTimeout.TotalSeconds:0} s.");
        }

        var text = (await output) + (await error);
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException(
                $"{Describe(startInfo)} exited with {process.ExitCode}:\n{text}\nServer log:\n{ServerLog()}");
        }

        return text;
    }

    private string ServerLog()
    {
        try
        {
            return rootDirectory is not null && File.Exists(LogFile) ? File.ReadAllText(LogFile) : "(no server log)";
        }
        catch (IOException ex)
        {
            return $"(server log unreadable: {ex.Message})";
        }
    }

    private static string Describe(ProcessStartInfo startInfo)
        => new StringBuilder(startInfo.FileName).Append(' ').AppendJoin(' ', startInfo.ArgumentList).ToString();

    private static int PickFreeLoopbackPort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    private static string FindBinDirectory()
    {
        string[] tools = ["initdb", "pg_ctl"];
        var candidates = (Environment.GetEnvironmentVariable("PATH") ?? "")
            .Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries)
            .Concat(Directory.Exists("/usr/lib/postgresql")
                // Newest major version first.
                ? Directory.GetDirectories("/usr/lib/postgresql")
                    .OrderByDescending(d => int.TryParse(Path.GetFileName(d), out var major) ? major : 0)
                    .Select(d => Path.Combine(d, "bin"))
                : []);
        foreach (var directory in candidates)
        {
            if (tools.All(t => File.Exists(Path.Combine(directory, t))))
            {
                return directory;
            }
        }

        throw new InvalidOperationException(
            "PostgreSQL server tools (initdb and pg_ctl) were not found on PATH or under /usr/lib/postgresql/*/bin. " +
            "Install the PostgreSQL 15 server (Debian: apt-get install postgresql-15) to run these tests.");
    }

    [GeneratedRegex("^[a-z_][a-z0-9_]{0,62}$")]
    private static partial Regex DatabaseName();
}
