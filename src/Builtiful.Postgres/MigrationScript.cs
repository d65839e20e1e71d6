using System.Globalization;
using System.Security.Cryptography;
using System.Text;

namespace Builtiful.Postgres;

/// <summary>One versioned SQL script. It must not contain BEGIN or COMMIT: the migrator runs it inside its own transaction.</summary>
public sealed record MigrationScript
{
    public MigrationScript(string version, string name, string sql)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(version);
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        ArgumentNullException.ThrowIfNull(sql);
        if (!version.All(char.IsAsciiDigit))
        {
            throw new ArgumentException($"Migration version '{version}' must be digits only, e.g. 0001.", nameof(version));
        }

        Version = version;
        Name = name;
        Sql = sql;
        Checksum = ComputeChecksum(sql);
    }

    /// <summary>Digits only; scripts are applied in numeric order of this value.</summary>
    public string Version { get; }

    public string Name { get; }

    public string Sql { get; }

    /// <summary>SHA-256 of the script text with line endings normalised, so a Windows checkout does not look like an edit.</summary>
    public string Checksum { get; }

    /// <summary>The file-style name, e.g. <c>0002_clustering</c>, used in every message about this script.</summary>
    public string DisplayName => $"{Version}_{Name}";

    internal long Order => long.Parse(Version, NumberStyles.None, CultureInfo.InvariantCulture);

    /// <summary>Builds a script from a file name of the form <c>0001_some_name.sql</c>.</summary>
    public static MigrationScript FromFileName(string fileName, string sql)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(fileName);
        var stem = fileName.EndsWith(".sql", StringComparison.OrdinalIgnoreCase) ? fileName[..^4] : fileName;
        var separator = stem.IndexOf('_', StringComparison.Ordinal);
        if (separator <= 0 || separator == stem.Length - 1)
        {
            throw new ArgumentException($"Migration file '{fileName}' must be named like 0001_description.sql.", nameof(fileName));
        }

        return new MigrationScript(stem[..separator], stem[(separator + 1)..], sql);
    }

    public override string ToString() => DisplayName;

    private static string ComputeChecksum(string sql)
    {
        var normalised = sql.ReplaceLineEndings("\n");
        return Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(normalised)));
    }
}
