using System.Globalization;
using System.Text;
using Npgsql;

namespace Builtiful.Postgres;

/// <summary>
/// Applies versioned SQL scripts to a PostgreSQL database, each in its own transaction together with its record in
/// <c>builtiful_schema_migrations</c>, under an advisory lock so concurrent migrators (two silos starting) take turns.
/// </summary>
public sealed class SchemaMigrator(IReadOnlyList<MigrationScript> scripts, TimeProvider timeProvider)
{
    // Fixed key shared by every Builtiful migrator; the value only has to avoid other advisory-lock users of the database.
    private const long AdvisoryLockKey = 0x4275_696C_7469_6601;

    private const string CreateHistoryTableSql = """
        CREATE TABLE IF NOT EXISTS builtiful_schema_migrations
        (
            version    text        PRIMARY KEY,
            name       text        NOT NULL,
            checksum   text        NOT NULL,
            applied_at timestamptz NOT NULL
        )
        """;

    private readonly IReadOnlyList<MigrationScript> scripts = InVersionOrder(scripts);
    private readonly TimeProvider timeProvider = timeProvider ?? throw new ArgumentNullException(nameof(timeProvider));

    /// <summary>Migrates with the scripts bundled in this assembly.</summary>
    public SchemaMigrator()
        : this(BundledMigrations.Load(), TimeProvider.System)
    {
    }

    public SchemaMigrator(IReadOnlyList<MigrationScript> scripts)
        : this(scripts, TimeProvider.System)
    {
    }

    public async Task<MigrationReport> MigrateAsync(string connectionString, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(connectionString);

        // A dedicated physical connection: the session-level advisory lock must die with it, never linger in a pool.
        var builder = new NpgsqlConnectionStringBuilder(connectionString) { Pooling = false };
        await using var connection = new NpgsqlConnection(builder.ConnectionString);
        await connection.OpenAsync(cancellationToken);

        await ExecuteAsync(connection, $"SELECT pg_advisory_lock({AdvisoryLockKey})", cancellationToken);
        try
        {
            await ExecuteAsync(connection, CreateHistoryTableSql, cancellationToken);
            var recorded = await ReadRecordedChecksumsAsync(connection, cancellationToken);
            VerifyAppliedChecksums(recorded);

            var applied = new List<string>();
            var skipped = new List<string>();
            foreach (var script in scripts)
            {
                if (recorded.ContainsKey(script.Version))
                {
                    skipped.Add(script.Version);
                    continue;
                }

                await ApplyAsync(connection, script, cancellationToken);
                applied.Add(script.Version);
            }

            return new MigrationReport(applied, skipped);
        }
        finally
        {
            if (connection.State == System.Data.ConnectionState.Open)
            {
                await ReleaseLockAsync(connection);
            }
        }
    }

    private static MigrationScript[] InVersionOrder(IReadOnlyList<MigrationScript> scripts)
    {
        ArgumentNullException.ThrowIfNull(scripts);
        var duplicate = scripts.GroupBy(s => s.Order).FirstOrDefault(g => g.Count() > 1);
        if (duplicate is not null)
        {
            throw new ArgumentException(
                $"Migration version {duplicate.Key} is used by more than one script: {string.Join(", ", duplicate.Select(s => s.DisplayName))}.",
                nameof(scripts));
        }

        return [.. scripts.OrderBy(s => s.Order)];
    }

    private void VerifyAppliedChecksums(Dictionary<string, string> recorded)
    {
        foreach (var script in scripts)
        {
            if (recorded.TryGetValue(script.Version, out var checksum) && !string.Equals(checksum, script.Checksum, StringComparison.Ordinal))
            {
                throw new MigrationFailedException(
                    script,
                    $"Migration {script.DisplayName} was already applied with checksum {checksum}, but the script now has checksum " +
                    $"{script.Checksum}. Applied scripts must never be edited: revert the change and put it in a new script.");
            }
        }
    }

    private async Task ApplyAsync(NpgsqlConnection connection, MigrationScript script, CancellationToken cancellationToken)
    {
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        try
        {
            await using (var command = new NpgsqlCommand(script.Sql, connection, transaction))
            {
                // Scripts may rebuild indexes on large tables: no client-side time-out, the caller's token cancels.
                command.CommandTimeout = 0;
                await command.ExecuteNonQueryAsync(cancellationToken);
            }

            await using (var record = new NpgsqlCommand(
                "INSERT INTO builtiful_schema_migrations (version, name, checksum, applied_at) VALUES (@version, @name, @checksum, @applied_at)",
                connection,
                transaction))
            {
                record.Parameters.AddWithValue("version", script.Version);
                record.Parameters.AddWithValue("name", script.Name);
                record.Parameters.AddWithValue("checksum", script.Checksum);
                record.Parameters.AddWithValue("applied_at", timeProvider.GetUtcNow());
                await record.ExecuteNonQueryAsync(cancellationToken);
            }

            await transaction.CommitAsync(cancellationToken);
        }
        catch (PostgresException ex)
        {
            throw new MigrationFailedException(script, DescribeFailure(script, ex), ex);
        }
        catch (NpgsqlException ex)
        {
            throw new MigrationFailedException(
                script, $"Migration {script.DisplayName} failed and was rolled back: {ex.Message}", ex);
        }
    }

    private static string DescribeFailure(MigrationScript script, PostgresException ex)
    {
        var message = new StringBuilder()
            .Append(CultureInfo.InvariantCulture, $"Migration {script.DisplayName} failed and was rolled back: ")
            .Append(CultureInfo.InvariantCulture, $"{ex.MessageText} (SQLSTATE {ex.SqlState})");
        if (ex.Position > 0)
        {
            message.Append(CultureInfo.InvariantCulture, $" at {LocatePosition(script.Sql, ex)}");
        }

        if (!string.IsNullOrEmpty(ex.Detail))
        {
            message.Append(CultureInfo.InvariantCulture, $". Detail: {ex.Detail}");
        }

        if (!string.IsNullOrEmpty(ex.Hint))
        {
            message.Append(CultureInfo.InvariantCulture, $". Hint: {ex.Hint}");
        }

        if (!string.IsNullOrEmpty(ex.Where))
        {
            message.Append(CultureInfo.InvariantCulture, $". Where: {ex.Where}");
        }

        return message.Append('.').ToString();
    }

    // PostgreSQL counts the position within the failing statement; Npgsql sends a script as one statement per ';'.
    private static string LocatePosition(string sql, PostgresException ex)
    {
        var statement = ex.BatchCommand?.CommandText;
        var start = string.IsNullOrEmpty(statement) ? -1 : sql.IndexOf(statement, StringComparison.Ordinal);
        if (start < 0)
        {
            return string.Create(CultureInfo.InvariantCulture, $"position {ex.Position} of the failing statement");
        }

        var offset = Math.Min(sql.Length, start + ex.Position - 1);
        var line = 1;
        var lineStart = 0;
        for (var i = 0; i < offset; i++)
        {
            if (sql[i] == '\n')
            {
                line++;
                lineStart = i + 1;
            }
        }

        return string.Create(CultureInfo.InvariantCulture, $"line {line}, column {offset - lineStart + 1} (position {ex.Position} of the failing statement)");
    }

    private static async Task ReleaseLockAsync(NpgsqlConnection connection)
    {
        try
        {
            await ExecuteAsync(connection, $"SELECT pg_advisory_unlock({AdvisoryLockKey})", CancellationToken.None);
        }
        catch (NpgsqlException)
        {
            // Closing the unpooled connection releases the lock too; never hide the failure that got us here.
        }
    }

    private static async Task<Dictionary<string, string>> ReadRecordedChecksumsAsync(NpgsqlConnection connection, CancellationToken cancellationToken)
    {
        var recorded = new Dictionary<string, string>(StringComparer.Ordinal);
        await using var command = new NpgsqlCommand("SELECT version, checksum FROM builtiful_schema_migrations", connection);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            recorded[reader.GetString(0)] = reader.GetString(1);
        }

        return recorded;
    }

    private static async Task ExecuteAsync(NpgsqlConnection connection, string sql, CancellationToken cancellationToken)
    {
        await using var command = new NpgsqlCommand(sql, connection);
        // Waiting for another migrator's lock may take as long as its scripts do.
        command.CommandTimeout = 0;
        await command.ExecuteNonQueryAsync(cancellationToken);
    }
}
