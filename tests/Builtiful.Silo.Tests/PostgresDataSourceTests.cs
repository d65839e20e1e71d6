using Npgsql;

namespace Builtiful.Silo.Tests;

/// <summary>
/// The cluster's pool on a real PostgreSQL server, as the server sees it: many open connections' commands share a few
/// server connections (multiplexing), at most one per processor (at least two); unmultiplexed, a connection is not reset
/// when it returns to the pool (no <c>DISCARD ALL</c>; a session setting made on one use is still there on the next); a
/// statement used twice is prepared on the server; each unless the operator's connection string says otherwise.
/// </summary>
public sealed class PostgresDataSourceTests(PostgresServer postgres) : IClassFixture<PostgresServer>
{
    [Theory]
    [InlineData("pool_default", "", "kept")]
    [InlineData("pool_not_multiplexed", ";Multiplexing=false", "kept")]
    [InlineData("pool_reset", ";Multiplexing=false;No Reset On Close=false", "")]
    [InlineData("pool_reset_other_spelling", ";multiplexing=false;noresetonclose=false", "")]
    [InlineData("pool_no_reset", ";Multiplexing=false;No Reset On Close=true", "kept")]
    public async Task A_pooled_connection_is_reset_only_when_the_connection_string_asks(string name, string setting, string expected)
    {
        var database = await postgres.CreateDatabaseAsync(name);
        await using var pool = PostgresDatabase.CreateDataSource(database + ";Maximum Pool Size=1" + setting);

        var first = await SessionAsync(pool, "SELECT pg_backend_pid(), set_config('builtiful.probe', 'kept', false)");
        var second = await SessionAsync(pool, "SELECT pg_backend_pid(), coalesce(current_setting('builtiful.probe', true), '')");

        Assert.Equal(first.Backend, second.Backend); // the same server session both times: the pool's only connection
        Assert.Equal(expected, second.Value);
    }

    [Theory]
    [InlineData("prepare_default", "", 1)]
    [InlineData("prepare_off", ";Max Auto Prepare=0", 0)]
    [InlineData("prepare_after_five", ";Auto Prepare Min Usages=5", 0)]
    public async Task A_statement_used_twice_is_prepared_on_the_server_unless_the_connection_string_says_otherwise(string name, string setting, int expected)
    {
        var database = await postgres.CreateDatabaseAsync(name);
        await using var pool = PostgresDatabase.CreateDataSource(database + ";Maximum Pool Size=1" + setting);
        const string Statement = "SELECT pg_backend_pid(), 'probe'";

        var first = await SessionAsync(pool, Statement);
        var second = await SessionAsync(pool, Statement);
        var prepared = await SessionAsync(pool, $"SELECT pg_backend_pid(), count(*)::text FROM pg_prepared_statements WHERE statement = '{Statement.Replace("'", "''", StringComparison.Ordinal)}'");

        Assert.Equal(first.Backend, prepared.Backend);
        Assert.Equal(second.Backend, prepared.Backend);
        Assert.Equal(expected.ToString(System.Globalization.CultureInfo.InvariantCulture), prepared.Value);
    }

    [Fact]
    public async Task Commands_of_many_open_connections_share_the_pool_s_server_connections()
    {
        var database = await postgres.CreateDatabaseAsync("pool_multiplexed");
        await using var pool = PostgresDatabase.CreateDataSource(database + ";Maximum Pool Size=2;Timeout=2");
        var connections = new List<NpgsqlConnection>();
        try
        {
            // Twenty callers hold a connection open at once, as twenty grains' storage calls do; unmultiplexed, the third
            // would wait for one of two server connections and time out.
            for (var i = 0; i < 20; i++)
            {
                connections.Add(await pool.OpenConnectionAsync());
            }

            var backends = await Task.WhenAll(connections.Select(async connection =>
            {
                await using var command = new NpgsqlCommand("SELECT pg_backend_pid()", connection);
                return (int)(await command.ExecuteScalarAsync())!;
            }));

            Assert.InRange(backends.Distinct().Count(), 1, 2);
        }
        finally
        {
            foreach (var connection in connections)
            {
                await connection.DisposeAsync();
            }
        }

        await using var unmultiplexed = PostgresDatabase.CreateDataSource(database + ";Maximum Pool Size=2;Timeout=2;Multiplexing=false");
        await using var first = await unmultiplexed.OpenConnectionAsync();
        await using var second = await unmultiplexed.OpenConnectionAsync();
        await Assert.ThrowsAnyAsync<NpgsqlException>(async () => await unmultiplexed.OpenConnectionAsync());
    }

    [Theory]
    [InlineData("servers_default", null)]
    [InlineData("servers_given", "Maximum Pool Size")]
    [InlineData("servers_given_other_spelling", "maxpoolsize")]
    [InlineData("servers_minimum_above", "Minimum Pool Size")]
    public async Task A_multiplexed_pool_opens_a_server_connection_per_processor_unless_the_connection_string_says(string name, string? setting)
    {
        Assert.Equal(Math.Max(2, Environment.ProcessorCount), PostgresDatabase.MultiplexedServerConnections);
        // A bound the connection string gives (or a minimum above the default, which raises it) is above the default.
        var bound = setting is null ? PostgresDatabase.MultiplexedServerConnections : PostgresDatabase.MultiplexedServerConnections + 3;
        var database = await postgres.CreateDatabaseAsync(name);
        await using var pool = PostgresDatabase.CreateDataSource(database + (setting is null ? "" : $";{setting}={bound}"));

        // Eighty callers at once, each command holding its server connection for 300 ms: the pool opens more server
        // connections while all it has are busy, up to its bound and no further (how many below the bound it reaches is
        // Npgsql's timing; it pipelines the rest onto busy ones).
        var backends = await Task.WhenAll(Enumerable.Range(0, 80).Select(async _ =>
        {
            await using var command = pool.CreateCommand("SELECT pg_backend_pid() FROM pg_sleep(0.3)");
            return (int)(await command.ExecuteScalarAsync())!;
        }));

        var opened = await ServerConnectionsAsync(postgres, name);
        Assert.InRange(opened, 1, bound);
        Assert.InRange(backends.Distinct().Count(), 1, bound);
        if (bound > PostgresDatabase.MultiplexedServerConnections)
        {
            // The connection string's own bound replaced the default, rather than the default capping it.
            Assert.True(opened > PostgresDatabase.MultiplexedServerConnections, $"{opened} server connections under {bound}");
        }
    }

    [Fact]
    public async Task An_unmultiplexed_pool_keeps_npgsql_s_bound()
    {
        var database = await postgres.CreateDatabaseAsync("servers_unmultiplexed");
        await using var pool = PostgresDatabase.CreateDataSource(database + ";Multiplexing=false;Timeout=2");
        var connections = new List<NpgsqlConnection>();
        try
        {
            // Each caller holds a server connection of its own: under the multiplexed default, the third on two cores would wait and time out.
            for (var i = 0; i < PostgresDatabase.MultiplexedServerConnections + 8; i++)
            {
                connections.Add(await pool.OpenConnectionAsync());
            }

            Assert.Equal(PostgresDatabase.MultiplexedServerConnections + 8, await ServerConnectionsAsync(postgres, "servers_unmultiplexed"));
        }
        finally
        {
            foreach (var connection in connections)
            {
                await connection.DisposeAsync();
            }
        }
    }

    /// <summary>The server's own count of client connections to a database (other than the one asking).</summary>
    private static async Task<int> ServerConnectionsAsync(PostgresServer server, string database)
    {
        await using var connection = new NpgsqlConnection(server.ConnectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand("SELECT count(*)::int FROM pg_stat_activity WHERE datname = $1 AND backend_type = 'client backend'", connection);
        command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = database });
        return (int)(await command.ExecuteScalarAsync())!;
    }

    private static async Task<(int Backend, string Value)> SessionAsync(NpgsqlDataSource pool, string sql)
    {
        await using var connection = await pool.OpenConnectionAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        await using var reader = await command.ExecuteReaderAsync();
        Assert.True(await reader.ReadAsync());
        return (reader.GetInt32(0), reader.GetString(1));
    }
}
