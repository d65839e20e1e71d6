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

    private static readonly HashSet<string> TransactionControl =
        new(StringComparer.Ordinal) { "BEGIN", "START", "COMMIT", "END", "ROLLBACK", "ABORT", "SAVEPOINT", "RELEASE" };

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
        RejectTransactionControl();

        // A dedicated physical connection: the session-level advisory lock must die with it, never linger in a pool.
        var builder = new NpgsqlConnectionStringBuilder(connectionString)
        {
            Pooling = false,
            // Lets a server error name the batch statement that failed, which the error message turns into a line number.
            IncludeFailedBatchedCommand = true,
        };
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

    // A COMMIT inside a script would end the migrator's transaction half-way and break the all-or-nothing promise.
    private void RejectTransactionControl()
    {
        foreach (var script in scripts)
        {
            var statement = SqlStatements.Split(script.Sql).FirstOrDefault(s => TransactionControl.Contains(SqlStatements.FirstWord(s.Text)));
            if (statement != default)
            {
                var (line, _) = LineAndColumn(script.Sql, statement.Offset + SqlStatements.CodeStart(statement.Text));
                throw new MigrationFailedException(
                    script,
                    $"Migration {script.DisplayName} controls transactions itself ({SqlStatements.FirstWord(statement.Text)} at line {line}). " +
                    "Remove it: the migrator runs every script in its own transaction. Nothing was applied.");
            }
        }
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
        // One batch command per statement, so an error names its statement and the position becomes a line and column.
        var statements = SqlStatements.Split(script.Sql);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        await using var batch = new NpgsqlBatch(connection, transaction)
        {
            // Scripts may rebuild indexes on large tables: no client-side time-out, the caller's token cancels.
            Timeout = 0,
        };
        foreach (var statement in statements)
        {
            batch.BatchCommands.Add(new NpgsqlBatchCommand(statement.Text));
        }

        var record = new NpgsqlBatchCommand(
            "INSERT INTO builtiful_schema_migrations (version, name, checksum, applied_at) VALUES ($1, $2, $3, $4)");
        record.Parameters.Add(new NpgsqlParameter { Value = script.Version });
        record.Parameters.Add(new NpgsqlParameter { Value = script.Name });
        record.Parameters.Add(new NpgsqlParameter { Value = script.Checksum });
        record.Parameters.Add(new NpgsqlParameter { Value = timeProvider.GetUtcNow() });
        batch.BatchCommands.Add(record);

        try
        {
            await batch.ExecuteNonQueryAsync(cancellationToken);
            await transaction.CommitAsync(cancellationToken);
        }
        catch (PostgresException ex)
        {
            var index = ex.BatchCommand is null ? -1 : batch.BatchCommands.IndexOf(ex.BatchCommand);
            SqlStatement? failing = index >= 0 && index < statements.Count ? statements[index] : null;
            throw new MigrationFailedException(script, DescribeFailure(script, failing, ex), ex);
        }
        catch (NpgsqlException ex)
        {
            throw new MigrationFailedException(
                script, $"Migration {script.DisplayName} failed and was rolled back: {ex.Message}", ex);
        }
    }

    private static string DescribeFailure(MigrationScript script, SqlStatement? failing, PostgresException ex)
    {
        var message = new StringBuilder()
            .Append(CultureInfo.InvariantCulture, $"Migration {script.DisplayName} failed and was rolled back: ")
            .Append(CultureInfo.InvariantCulture, $"{ex.MessageText} (SQLSTATE {ex.SqlState})");
        if (failing is { } statement)
        {
            // PostgreSQL counts the position (1-based) within the statement it was sent.
            var offset = ex.Position > 0 ? statement.Offset + ex.Position - 1 : statement.Offset + SqlStatements.CodeStart(statement.Text);
            var (line, column) = LineAndColumn(script.Sql, offset);
            if (ex.Position > 0)
            {
                message.Append(CultureInfo.InvariantCulture, $" at line {line}, column {column}");
            }
            else
            {
                message.Append(CultureInfo.InvariantCulture, $" in the statement starting at line {line}");
            }
        }
        else if (ex.Position > 0)
        {
            message.Append(CultureInfo.InvariantCulture, $" at position {ex.Position}");
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

    private static (int Line, int Column) LineAndColumn(string sql, int offset)
    {
        offset = Math.Clamp(offset, 0, sql.Length);
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

        return (line, offset - lineStart + 1);
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
