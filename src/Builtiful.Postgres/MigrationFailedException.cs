namespace Builtiful.Postgres;

/// <summary>A migration script failed (and was rolled back), or an applied script no longer matches its recorded checksum.</summary>
public sealed class MigrationFailedException : Exception
{
    public MigrationFailedException()
    {
    }

    public MigrationFailedException(string message)
        : base(message)
    {
    }

    public MigrationFailedException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    public MigrationFailedException(MigrationScript script, string message, Exception? innerException = null)
        : base(message, innerException)
    {
        ArgumentNullException.ThrowIfNull(script);
        ScriptVersion = script.Version;
        ScriptName = script.DisplayName;
    }

    /// <summary>Version of the script at fault, when one script is at fault.</summary>
    public string? ScriptVersion { get; }

    /// <summary>File-style name of the script at fault, e.g. <c>0002_clustering</c>.</summary>
    public string? ScriptName { get; }

    /// <summary>PostgreSQL's SQLSTATE when the server rejected the script.</summary>
    public string? SqlState => (InnerException as Npgsql.PostgresException)?.SqlState;
}
