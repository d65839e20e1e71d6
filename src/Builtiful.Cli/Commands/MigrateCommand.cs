using System.CommandLine;
using Builtiful.Postgres;
using Npgsql;

namespace Builtiful.Cli.Commands;

/// <summary><c>builtiful migrate</c>: apply the bundled PostgreSQL schema scripts; a second run does nothing.</summary>
public static class MigrateCommand
{
    public const string ConnectionStringVariable = "ConnectionStrings__Builtiful";

    public static Command Create()
    {
        var connectionString = new Option<string?>("--connection-string")
        {
            Description = $"The cluster's PostgreSQL, e.g. Host=...;Database=builtiful;Username=...;Password=... (default: ${ConnectionStringVariable}).",
        };
        var command = new Command("migrate", "Create or upgrade the cluster's PostgreSQL schema (membership, grain state, reminders).") { connectionString };
        command.SetAction(async (parse, cancellationToken) =>
        {
            var output = parse.InvocationConfiguration.Output;
            var error = parse.InvocationConfiguration.Error;
            var target = parse.GetValue(connectionString) is { Length: > 0 } given ? given : Environment.GetEnvironmentVariable(ConnectionStringVariable);
            if (string.IsNullOrEmpty(target))
            {
                await error.WriteLineAsync($"No database: pass --connection-string or set ${ConnectionStringVariable}.");
                return ExitCodes.Usage;
            }

            var progress = Progress.Start(error);
            try
            {
                var database = new NpgsqlConnectionStringBuilder(target);
                progress.Report($"migrating {database.Database} on {database.Host}:{database.Port} (waits for any other migrator)");
                var report = await new SchemaMigrator().MigrateAsync(target, cancellationToken);
                progress.Report("done");
                await output.WriteLineAsync(report.Applied.Count == 0
                    ? $"The schema is up to date ({report.Skipped.Count} migrations already applied)."
                    : $"Applied {report.Applied.Count} migrations: {string.Join(", ", report.Applied)} ({report.Skipped.Count} already applied).");
                return ExitCodes.Ok;
            }
            catch (Exception ex) when (ex is MigrationFailedException or NpgsqlException or ArgumentException)
            {
                await error.WriteLineAsync($"migrate failed: {ex.Message}");
                return ExitCodes.Failed;
            }
        });
        return command;
    }
}
