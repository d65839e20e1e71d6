using System.Data.Common;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;

namespace Builtiful.Hosting;

/// <summary>The cluster's PostgreSQL database, when <c>ConnectionStrings:Builtiful</c> names one.</summary>
public static class PostgresDatabase
{
    /// <summary>The ADO.NET invariant the Orleans providers use to pick their PostgreSQL queries.</summary>
    public const string Invariant = "Npgsql";

    /// <summary>The configuration key that names the database.</summary>
    public const string ConnectionStringKey = "ConnectionStrings:Builtiful";

    public static string? ConnectionString(IConfiguration configuration) =>
        configuration?.GetConnectionString("Builtiful") is { Length: > 0 } connectionString ? connectionString : null;

    /// <summary>One pool shared by clustering, storage and reminders, disposed with the host (see <see cref="CreateDataSource"/>).</summary>
    public static IServiceCollection AddPostgresDataSource(this IServiceCollection services, string connectionString)
    {
        services.TryAddSingleton(_ => CreateDataSource(connectionString));
        return services;
    }

    /// <summary>How many statements a pooled connection keeps prepared unless the connection string says (<c>Max Auto Prepare</c>).</summary>
    public const int AutoPreparedStatements = 32;

    /// <summary>
    /// The cluster's pool for a connection string, with three defaults the connection string can override:
    /// <list type="bullet">
    /// <item>commands are multiplexed (<c>Multiplexing=true</c>): Orleans' providers (membership, reminders, and grain
    /// state with <c>Storage:Provider=Orleans</c>) take a connection of their own per operation, and instead of each
    /// holding a server connection for its round trip, the commands of all callers are written to a few server
    /// connections as they come, back to back, and their answers read in order; a transaction still holds its own.
    /// Builtiful's grain storage batches its statements on a pool of its own (<see cref="CreateBatchingDataSource"/>);</item>
    /// <item>a connection returned to the pool is not reset (<c>No Reset On Close=true</c>; with multiplexing off). Npgsql would otherwise send
    /// <c>DISCARD ALL</c> before its next command: one more statement and transaction per grain-state read or write
    /// (Orleans' providers take a pooled connection per operation), and it drops the plans PL/pgSQL caches, so every
    /// <c>orleans_storage_write</c> planned its <c>INSERT</c> or <c>UPDATE</c> again. Nothing Builtiful or Orleans sends on
    /// these connections leaves session state behind (no <c>SET</c>, temporary tables, <c>LISTEN</c> or session locks);</item>
    /// <item>statements used twice on a connection are prepared on the server (<c>Max Auto Prepare=32</c>,
    /// <c>Auto Prepare Min Usages=2</c>): Orleans' providers send fewer than twenty distinct statements, each parsed and planned
    /// once per connection instead of per call. Behind a PgBouncer in transaction mode older than 1.21 (no prepared statements
    /// across transactions), give <c>Max Auto Prepare=0</c>.</item>
    /// </list>
    /// </summary>
    public static NpgsqlDataSource CreateDataSource(string connectionString)
    {
        var builder = Builder(connectionString, out var given);
        var settings = builder.ConnectionStringBuilder;
        if (!given.Contains(nameof(settings.Multiplexing)))
        {
            settings.Multiplexing = true;
        }

        return builder.Build();
    }

    /// <summary>
    /// A pool of exactly <paramref name="connections"/> unmultiplexed server connections for a caller that batches its
    /// own statements onto them (the grain storage's <c>PostgresStatementBatcher</c>), with the cluster pool's other
    /// defaults. Whatever the connection string says of <c>Multiplexing</c> and <c>Maximum Pool Size</c> is the cluster
    /// pool's; here each of the caller's lanes holds at most one connection, so the pool never makes a caller wait.
    /// </summary>
    public static NpgsqlDataSource CreateBatchingDataSource(string connectionString, int connections)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(connections, 1);
        var builder = Builder(connectionString, out _);
        var settings = builder.ConnectionStringBuilder;
        settings.Multiplexing = false;
        settings.MinPoolSize = 0;
        settings.MaxPoolSize = connections;
        return builder.Build();
    }

    private static NpgsqlDataSourceBuilder Builder(string connectionString, out HashSet<string> given)
    {
        var builder = new NpgsqlDataSourceBuilder(connectionString);
        given = SettingsGiven(connectionString);
        var settings = builder.ConnectionStringBuilder;
        if (!given.Contains(nameof(settings.NoResetOnClose)))
        {
            settings.NoResetOnClose = true;
        }

        if (!given.Contains(nameof(settings.MaxAutoPrepare)))
        {
            settings.MaxAutoPrepare = AutoPreparedStatements;
            if (!given.Contains(nameof(settings.AutoPrepareMinUsages)))
            {
                settings.AutoPrepareMinUsages = 2;
            }
        }

        return builder;
    }

    /// <summary>The settings the connection string gives itself, by property name: either of Npgsql's spellings (<c>No Reset On Close</c>, <c>NoResetOnClose</c>).</summary>
    private static HashSet<string> SettingsGiven(string connectionString)
    {
        var given = new DbConnectionStringBuilder { ConnectionString = connectionString };
        return given.Keys.Cast<string>().Select(key => key.Replace(" ", "", StringComparison.Ordinal)).ToHashSet(StringComparer.OrdinalIgnoreCase);
    }
}
