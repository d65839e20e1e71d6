using System.Diagnostics;
using System.Globalization;
using Npgsql;

namespace Builtiful.Bench.Load;

/// <summary>CPU time of this process (the load generator), of the whole machine, and of a PostgreSQL server and its backends.</summary>
public static class Cpu
{
    // /proc reports in USER_HZ, which Linux fixes at 100 for user space.
    private const double MsPerTick = 10.0;

    public static double DriverMs()
    {
        using var self = Process.GetCurrentProcess();
        return self.TotalProcessorTime.TotalMilliseconds;
    }

    /// <summary>Busy and total CPU milliseconds of the machine since boot, summed over cores (from /proc/stat).</summary>
    public static (double BusyMs, double TotalMs) Machine()
    {
        try
        {
            var first = File.ReadLines("/proc/stat").First();
            var fields = first.Split(' ', StringSplitOptions.RemoveEmptyEntries).Skip(1).Select(f => double.Parse(f, CultureInfo.InvariantCulture)).ToArray();
            var total = fields.Take(8).Sum();
            var idle = fields[3] + fields[4];
            return ((total - idle) * MsPerTick, total * MsPerTick);
        }
        catch (IOException)
        {
            return (double.NaN, double.NaN);
        }
    }

    /// <summary>The postmaster serving <paramref name="connectionString"/>, found through one of its backends.</summary>
    public static async Task<int?> PostmasterOfAsync(string connectionString)
    {
        try
        {
            await using var connection = new NpgsqlConnection(connectionString);
            await connection.OpenAsync();
            await using var command = new NpgsqlCommand("SELECT pg_backend_pid()", connection);
            var backend = Convert.ToInt32(await command.ExecuteScalarAsync(), CultureInfo.InvariantCulture);
            return Stat(backend) is { } stat ? stat.ParentId : null;
        }
        catch (Exception ex) when (ex is NpgsqlException or IOException)
        {
            return null;
        }
    }

    /// <summary>CPU of the postmaster, its live children (backends, checkpointer, WAL writer...) and its reaped children.</summary>
    public static double PostgresMs(int postmaster)
    {
        var total = 0.0;
        foreach (var directory in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(directory), NumberStyles.None, CultureInfo.InvariantCulture, out var pid))
            {
                continue;
            }

            if (Stat(pid) is not { } stat)
            {
                continue;
            }

            if (pid == postmaster)
            {
                total += stat.OwnTicks + stat.ReapedChildTicks;
            }
            else if (stat.ParentId == postmaster)
            {
                total += stat.OwnTicks;
            }
        }

        return total * MsPerTick;
    }

    /// <summary>Every process's name, parent and CPU ticks, to say who else used the machine during a window.</summary>
    public static Dictionary<int, (string Name, int ParentId, double Ticks)> AllProcesses()
    {
        var all = new Dictionary<int, (string, int, double)>();
        foreach (var directory in Directory.EnumerateDirectories("/proc"))
        {
            if (int.TryParse(Path.GetFileName(directory), NumberStyles.None, CultureInfo.InvariantCulture, out var pid)
                && Stat(pid) is { } stat)
            {
                all[pid] = (Name(pid), stat.ParentId, stat.OwnTicks);
            }
        }

        return all;
    }

    public static double TicksToMs(double ticks) => ticks * MsPerTick;

    private static string Name(int pid)
    {
        try
        {
            var text = File.ReadAllText($"/proc/{pid}/stat");
            var open = text.IndexOf('(', StringComparison.Ordinal);
            return text[(open + 1)..text.LastIndexOf(')')];
        }
        catch (IOException)
        {
            return "?";
        }
    }

    private static (int ParentId, double OwnTicks, double ReapedChildTicks)? Stat(int pid)
    {
        try
        {
            var text = File.ReadAllText($"/proc/{pid}/stat");
            // The command name is in parentheses and may hold spaces: fields are counted after its closing one.
            var fields = text[(text.LastIndexOf(')') + 2)..].Split(' ');
            double F(int field) => double.Parse(fields[field - 3], CultureInfo.InvariantCulture);
            return ((int)F(4), F(14) + F(15), F(16) + F(17));
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or FormatException or IndexOutOfRangeException)
        {
            return null;
        }
    }
}

/// <summary>CPU spent by each party during one measured window.</summary>
public sealed record CpuWindow(double Seconds, double HostMs, double DriverMs, double? PostgresMs, double MachineBusyMs, double MachineTotalMs)
{
    /// <summary>The busiest other processes in the window (name: CPU ms per second), e.g. someone else's build.</summary>
    public IReadOnlyList<string> Others { get; init; } = [];

    public double MachineBusyPercent => MachineTotalMs > 0 ? 100 * MachineBusyMs / MachineTotalMs : double.NaN;
}

/// <summary>Takes the readings at the start of a window and turns the second set into a <see cref="CpuWindow"/>.</summary>
public sealed class CpuMeter
{
    private readonly HostProcess _host;
    private readonly int? _postmaster;
    private long _start;
    private double _host0;
    private double _driver0;
    private double _pg0;
    private (double Busy, double Total) _machine0;
    private Dictionary<int, (string Name, int ParentId, double Ticks)> _processes0 = [];

    public CpuMeter(HostProcess host, int? postmaster)
    {
        _host = host;
        _postmaster = postmaster;
    }

    public async Task StartAsync()
    {
        _host0 = (await _host.StatsAsync()).CpuMs;
        _driver0 = Cpu.DriverMs();
        _pg0 = _postmaster is { } pm ? Cpu.PostgresMs(pm) : 0;
        _machine0 = Cpu.Machine();
        _processes0 = Cpu.AllProcesses();
        _start = Stopwatch.GetTimestamp();
    }

    public async Task<CpuWindow> StopAsync()
    {
        var seconds = Stopwatch.GetElapsedTime(_start).TotalSeconds;
        var host = (await _host.StatsAsync()).CpuMs - _host0;
        var driver = Cpu.DriverMs() - _driver0;
        double? pg = _postmaster is { } pm ? Cpu.PostgresMs(pm) - _pg0 : null;
        var machine = Cpu.Machine();
        var processes = Cpu.AllProcesses();
        var self = Environment.ProcessId;
        var others = processes
            .Where(p => p.Key != _host.ProcessId && p.Key != self && p.Key != _postmaster && p.Value.ParentId != _postmaster)
            .Select(p => (p.Value.Name, Ms: Cpu.TicksToMs(p.Value.Ticks - (_processes0.TryGetValue(p.Key, out var before) ? before.Ticks : 0))))
            .GroupBy(p => p.Name)
            .Select(g => (Name: g.Key, Ms: g.Sum(p => p.Ms)))
            .Where(g => g.Ms > 0)
            .OrderByDescending(g => g.Ms)
            .Take(4)
            .Select(g => $"{g.Name}: {g.Ms / seconds:0} ms/s")
            .ToList();
        return new CpuWindow(seconds, host, driver, pg, machine.BusyMs - _machine0.Busy, machine.TotalMs - _machine0.Total) { Others = others };
    }
}

/// <summary>What the database did: transactions and rows touched (pg_stat_database; flushed by backends about once a second).</summary>
public sealed record PgActivity(long Transactions, long Inserted, long Updated, long Deleted)
{
    public static async Task<PgActivity?> ReadAsync(string? connectionString)
    {
        if (connectionString is null)
        {
            return null;
        }

        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(
            "SELECT xact_commit + xact_rollback, tup_inserted, tup_updated, tup_deleted FROM pg_stat_database WHERE datname = current_database()", connection);
        await using var reader = await command.ExecuteReaderAsync();
        await reader.ReadAsync();
        return new PgActivity(reader.GetInt64(0), reader.GetInt64(1), reader.GetInt64(2), reader.GetInt64(3));
    }

    public static PgActivity operator -(PgActivity after, PgActivity before) =>
        new(after.Transactions - before.Transactions, after.Inserted - before.Inserted, after.Updated - before.Updated, after.Deleted - before.Deleted);
}

/// <summary>
/// Grain-state writes ever made to the database: the sum of every stored row's Version, which its insert sets to 1 and
/// each later write (clears included) raises by one, so the difference of two reads is exact and needs no statistics.
/// </summary>
public sealed record PgWrites(long Storage, IReadOnlyDictionary<string, long> ByGrainType)
{
    public static async Task<PgWrites?> ReadAsync(string? connectionString)
    {
        if (connectionString is null)
        {
            return null;
        }

        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand("SELECT GrainTypeString, coalesce(sum(Version), 0)::bigint FROM OrleansStorage GROUP BY GrainTypeString", connection);
        var byType = new SortedDictionary<string, long>(StringComparer.Ordinal);
        await using (var reader = await command.ExecuteReaderAsync())
        {
            while (await reader.ReadAsync())
            {
                byType[reader.GetString(0)] = reader.GetInt64(1);
            }
        }

        return new PgWrites(byType.Values.Sum(), byType);
    }

    /// <summary>Writes per job by grain type between two reads (types with none left out).</summary>
    public static System.Text.Json.Nodes.JsonObject PerJob(PgWrites before, PgWrites after, long jobs)
    {
        var perJob = new System.Text.Json.Nodes.JsonObject();
        foreach (var (type, written) in after.ByGrainType)
        {
            var delta = written - before.ByGrainType.GetValueOrDefault(type);
            if (delta > 0)
            {
                perJob[type] = Math.Round((double)delta / jobs, 2);
            }
        }

        return perJob;
    }

    /// <summary>Reads until two reads half a second apart agree (at most 10 s): the writes that follow a VM's termination land.</summary>
    public static async Task<PgWrites?> SettledAsync(string? connectionString)
    {
        var last = await ReadAsync(connectionString);
        for (var i = 0; last is not null && i < 20; i++)
        {
            await Task.Delay(500);
            var next = await ReadAsync(connectionString);
            if (next?.Storage == last.Storage)
            {
                break;
            }

            last = next;
        }

        return last;
    }
}
