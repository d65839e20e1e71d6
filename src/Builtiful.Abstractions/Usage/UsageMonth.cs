using System.Globalization;

namespace Builtiful.Usage;

/// <summary>Months are UTC calendar months written <c>yyyy-MM</c>; a job counts in the month it completed.</summary>
public static class UsageMonth
{
    private const string Format = "yyyy-MM";

    public static string Of(DateTimeOffset instant) => instant.UtcDateTime.ToString(Format, CultureInfo.InvariantCulture);

    public static bool TryParse(string? month, out string normalised)
    {
        normalised = "";
        if (!DateTime.TryParseExact(month, Format, CultureInfo.InvariantCulture, DateTimeStyles.None, out var parsed))
        {
            return false;
        }

        normalised = parsed.ToString(Format, CultureInfo.InvariantCulture);
        return true;
    }

    /// <summary>The usage grain's key for an installation and a <c>yyyy-MM</c> month.</summary>
    public static string Key(long installationId, string month) =>
        string.Create(CultureInfo.InvariantCulture, $"{installationId}:{month}");

    public static (long InstallationId, string Month) ParseKey(string key)
    {
        ArgumentNullException.ThrowIfNull(key);
        var colon = key.IndexOf(':', StringComparison.Ordinal);
        if (colon <= 0 || !long.TryParse(key.AsSpan(0, colon), NumberStyles.None, CultureInfo.InvariantCulture, out var installationId)
            || !TryParse(key[(colon + 1)..], out var month))
        {
            throw new ArgumentException($"'{key}' is not a usage key of the form {{installationId}}:{{yyyy-MM}}.", nameof(key));
        }

        return (installationId, month);
    }
}
