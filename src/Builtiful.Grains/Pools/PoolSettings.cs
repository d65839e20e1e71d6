using System.Globalization;
using Microsoft.Extensions.Configuration;

namespace Builtiful.Pools;

/// <summary>A window of the week (UTC) in which a pool keeps a different number of idle VMs.</summary>
public sealed record PoolWindow(IReadOnlySet<DayOfWeek> Days, TimeOnly From, TimeOnly To, int MinIdle)
{
    /// <summary>True inside the window; a window whose <see cref="To"/> is not after <see cref="From"/> runs past midnight into the next day.</summary>
    public bool Contains(DateTimeOffset now)
    {
        var utc = now.UtcDateTime;
        var time = TimeOnly.FromDateTime(utc);
        if (From < To)
        {
            return Days.Contains(utc.DayOfWeek) && time >= From && time < To;
        }

        // Overnight: the evening belongs to the day it starts on, the small hours to the day before.
        return (Days.Contains(utc.DayOfWeek) && time >= From) || (Days.Contains(utc.AddDays(-1).DayOfWeek) && time < To);
    }
}

/// <summary>One configured pool, <c>Pools:&lt;name&gt;</c>.</summary>
public sealed record PoolSettings(
    string Name,
    string MachineType,
    int MinIdle,
    int MaxIdle,
    TimeSpan IdleLifetime,
    string? Target,
    IReadOnlyList<PoolWindow> Schedule)
{
    public static readonly TimeSpan DefaultIdleLifetime = TimeSpan.FromMinutes(30);

    /// <summary>The MinIdle in force at <paramref name="now"/>: the first schedule window that holds it, else <paramref name="minIdle"/>.</summary>
    public int MinIdleAt(DateTimeOffset now, int minIdle)
    {
        foreach (var window in Schedule)
        {
            if (window.Contains(now))
            {
                return window.MinIdle;
            }
        }

        return minIdle;
    }
}

/// <summary>
/// Configuration section <c>Pools</c>: every warm pool, read and checked in one place. Each problem names the key, the value
/// found and what to use. No section: no pools, and leases launch as they always did.
/// </summary>
public sealed class PoolsOptions
{
    public const string Section = "Pools";

    public IReadOnlyList<PoolSettings> Pools { get; set; } = [];

    /// <summary>What is wrong with the section, one line per problem; empty when it is valid.</summary>
    public IReadOnlyList<string> Problems { get; set; } = [];

    public static PoolsOptions Read(IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        var problems = new List<string>();
        var pools = new List<PoolSettings>();
        foreach (var pool in configuration.GetSection(Section).GetChildren())
        {
            var key = $"{Section}:{pool.Key}";
            var machineType = pool["MachineType"];
            if (string.IsNullOrWhiteSpace(machineType))
            {
                problems.Add($"{key}:MachineType is not set; use a machine type label such as builtiful-4vcpu-ubuntu-2404");
            }

            var minIdle = Int(pool, key, "MinIdle", 0, problems);
            var maxIdle = Int(pool, key, "MaxIdle", Math.Max(1, minIdle), problems);
            if (maxIdle < 1 && pool["MaxIdle"] is not null)
            {
                problems.Add($"{key}:MaxIdle is {pool["MaxIdle"]}; use at least 1");
            }

            if (minIdle > maxIdle)
            {
                problems.Add($"{key}:MinIdle is {minIdle}, more than {key}:MaxIdle ({maxIdle}); use a MinIdle of at most MaxIdle");
            }

            var lifetime = PoolSettings.DefaultIdleLifetime;
            if (pool["IdleLifetime"] is { } text && (!TimeSpan.TryParse(text, CultureInfo.InvariantCulture, out lifetime) || lifetime < TimeSpan.FromSeconds(1)))
            {
                problems.Add($"{key}:IdleLifetime is {text}; use a duration of at least 00:00:01, e.g. 00:30:00 for 30 minutes");
            }

            var schedule = new List<PoolWindow>();
            foreach (var entry in pool.GetSection("Schedule").GetChildren())
            {
                if (Window(entry, $"{key}:Schedule:{entry.Key}", maxIdle, problems) is { } window)
                {
                    schedule.Add(window);
                }
            }

            pools.Add(new PoolSettings(pool.Key, machineType?.Trim() ?? "", minIdle, maxIdle, lifetime, pool["Target"] is { Length: > 0 } target ? target : null, schedule));
        }

        foreach (var twice in pools.Where(p => p.MachineType.Length > 0).GroupBy(p => (p.MachineType.ToUpperInvariant(), p.Target)).Where(g => g.Count() > 1))
        {
            problems.Add($"{Section}:{string.Join($" and {Section}:", twice.Select(p => p.Name))} both pool {twice.First().MachineType}{(twice.Key.Target is { } t ? $" on target {t}" : "")}; use one pool per machine type and target");
        }

        return new PoolsOptions { Pools = pools, Problems = problems };
    }

    private static int Int(IConfigurationSection pool, string key, string name, int fallback, List<string> problems)
    {
        if (pool[name] is not { } text)
        {
            return fallback;
        }

        if (!int.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out var value) || value < 0)
        {
            problems.Add($"{key}:{name} is {text}; use a whole number, at least 0");
            return fallback;
        }

        return value;
    }

    private static PoolWindow? Window(IConfigurationSection entry, string key, int maxIdle, List<string> problems)
    {
        var count = problems.Count;
        var days = Days(entry["Days"]);
        if (days is null)
        {
            problems.Add($"{key}:Days is {entry["Days"] ?? "not set"}; use days such as Mon-Fri, Sat,Sun or Mon");
        }

        var from = Time(entry, key, "From", problems);
        var to = Time(entry, key, "To", problems);
        var minIdle = Int(entry, key, "MinIdle", -1, problems);
        if (entry["MinIdle"] is null)
        {
            problems.Add($"{key}:MinIdle is not set; use the number of idle VMs to keep inside the window");
        }
        else if (minIdle > maxIdle)
        {
            problems.Add($"{key}:MinIdle is {minIdle}, more than the pool's MaxIdle ({maxIdle}); use at most {maxIdle}");
        }

        return problems.Count == count ? new PoolWindow(days!, from, to, minIdle) : null;
    }

    private static TimeOnly Time(IConfigurationSection entry, string key, string name, List<string> problems)
    {
        if (entry[name] is { } text && TimeOnly.TryParseExact(text, "HH:mm", CultureInfo.InvariantCulture, DateTimeStyles.None, out var time))
        {
            return time;
        }

        problems.Add($"{key}:{name} is {entry[name] ?? "not set"}; use a time of day in UTC as HH:mm, e.g. 08:00");
        return default;
    }

    private static readonly string[] DayNames = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];

    /// <summary><c>Mon-Fri</c>, <c>Sat,Sun</c>, <c>Fri-Mon</c> (wrapping), or one day; null when it does not parse.</summary>
    public static HashSet<DayOfWeek>? Days(string? text)
    {
        if (string.IsNullOrWhiteSpace(text))
        {
            return null;
        }

        var days = new HashSet<DayOfWeek>();
        foreach (var part in text.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
        {
            var range = part.Split('-', StringSplitOptions.TrimEntries);
            if (range.Length is < 1 or > 2 || Day(range[0]) is not { } first || Day(range[^1]) is not { } last)
            {
                return null;
            }

            for (var day = (int)first; ; day = (day + 1) % 7)
            {
                days.Add((DayOfWeek)day);
                if (day == (int)last)
                {
                    break;
                }
            }
        }

        return days.Count == 0 ? null : days;
    }

    private static DayOfWeek? Day(string name)
    {
        var index = Array.FindIndex(DayNames, d => d.Equals(name, StringComparison.OrdinalIgnoreCase));
        if (index >= 0)
        {
            return (DayOfWeek)index;
        }

        return !name.All(char.IsLetter) || !Enum.TryParse<DayOfWeek>(name, ignoreCase: true, out var full) ? null : full;
    }
}
