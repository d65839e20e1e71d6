using System.Globalization;

namespace Builtiful.Usage;

/// <summary>
/// Hours are UTC clock hours; a job's counted record lives in the hour it completed, keyed
/// <c>{installationId}:{yyyy-MM-ddTHH}</c> (see <see cref="IUsageHourGrain"/>). Within its month an hour is also known
/// by its index, the whole hours since the month began (0 to 743).
/// </summary>
public static class UsageHour
{
    private const string Format = "yyyy-MM-dd'T'HH";

    /// <summary>The hour shard's key for an installation and the instant a job completed.</summary>
    public static string Key(long installationId, DateTimeOffset completedAt) =>
        string.Create(CultureInfo.InvariantCulture, $"{installationId}:{completedAt.UtcDateTime.ToString(Format, CultureInfo.InvariantCulture)}");

    /// <summary>The hour shard's key for an hour of a <c>yyyy-MM</c> month given by its index.</summary>
    public static string Key(long installationId, string month, int hourIndex) =>
        Key(installationId, new DateTimeOffset(MonthStart(month).AddHours(hourIndex), TimeSpan.Zero));

    /// <summary>Whole hours between the start of the instant's UTC month and the instant.</summary>
    public static int IndexInMonth(DateTimeOffset instant)
    {
        var utc = instant.UtcDateTime;
        return (int)((utc - new DateTime(utc.Year, utc.Month, 1, 0, 0, 0, DateTimeKind.Utc)).Ticks / TimeSpan.TicksPerHour);
    }

    public static (long InstallationId, string Month, int HourIndex) ParseKey(string key)
    {
        ArgumentNullException.ThrowIfNull(key);
        var colon = key.IndexOf(':', StringComparison.Ordinal);
        if (colon <= 0 || !long.TryParse(key.AsSpan(0, colon), NumberStyles.None, CultureInfo.InvariantCulture, out var installationId)
            || !DateTime.TryParseExact(key[(colon + 1)..], Format, CultureInfo.InvariantCulture,
                DateTimeStyles.AdjustToUniversal | DateTimeStyles.AssumeUniversal, out var hour))
        {
            throw new ArgumentException($"'{key}' is not a usage hour key of the form {{installationId}}:{{yyyy-MM-ddTHH}}.", nameof(key));
        }

        var instant = new DateTimeOffset(hour, TimeSpan.Zero);
        return (installationId, UsageMonth.Of(instant), IndexInMonth(instant));
    }

    private static DateTime MonthStart(string month) =>
        DateTime.ParseExact(month, "yyyy-MM", CultureInfo.InvariantCulture, DateTimeStyles.AdjustToUniversal | DateTimeStyles.AssumeUniversal);
}
