using Npgsql;

namespace Builtiful.Silo.Tests;

/// <summary>
/// The cluster's pool on a real PostgreSQL server, as the server sees it: many open connections' commands share a few
/// server connections (multiplexing); unmultiplexed, a connection is not reset when it returns to the pool (no
/// <c>DISCARD ALL</c>; a session setting made on one use is still there on the next); a statement used twice is prepared
/// on the server; each unless the operator's connection string says otherwise.
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

    /// <summary>
    /// A PostgreSQL restart breaks every server connection at once, under load. Npgsql 10.0.3's multiplexed pool bounded
    /// at two or eight connections never answered again (each bound, 120 s, forty callers); at its own bound of 100 it
    /// answers within a second or two, four restarts in a row. The cluster's pool keeps that bound, and this guards it.
    /// </summary>
    [Fact]
    public async Task The_cluster_s_pool_serves_again_after_the_server_restarts_under_load()
    {
        var database = await postgres.CreateDatabaseAsync("pool_restart");
        await using var pool = PostgresDatabase.CreateDataSource(database + ";Timeout=5;Command Timeout=10");
        using var stop = new CancellationTokenSource();
        var failures = 0;
        var callers = Enumerable.Range(0, 40).Select(async _ =>
        {
            while (!stop.IsCancellationRequested)
            {
                try
                {
                    await using var command = pool.CreateCommand("SELECT pg_backend_pid() FROM pg_sleep(0.01)");
                    await command.ExecuteScalarAsync();
                }
                catch (Exception e) when (e is NpgsqlException or InvalidOperationException or TimeoutException)
                {
                    Interlocked.Increment(ref failures);
                }
            }
        }).ToList();

        for (var restart = 0; restart < 2; restart++)
        {
            Assert.True(await AnsweredAsync(pool));
            await postgres.RestartAsync();

            // The pool serves again: a command that meets a connection the restart broke fails, a later one is answered,
            // and then twenty in a row are (a wedged pool answers none of them, nor fails them).
            using (var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(60)))
            {
                await ServesAgainAsync(pool, deadline.Token).WaitAsync(deadline.Token);
            }

            for (var i = 0; i < 20; i++)
            {
                Assert.True(await AnsweredAsync(pool).WaitAsync(TimeSpan.FromSeconds(30)));
            }
        }

        await stop.CancelAsync();
        await Task.WhenAll(callers).WaitAsync(TimeSpan.FromSeconds(30));
        Assert.True(failures > 0, "the restarts broke no command: they did not happen under load");
    }

    /// <summary>Asks until the pool answers; a wedged pool neither answers nor fails, so the caller bounds the wait.</summary>
    private static async Task ServesAgainAsync(NpgsqlDataSource pool, CancellationToken deadline)
    {
        while (!deadline.IsCancellationRequested)
        {
            try
            {
                if (await AnsweredAsync(pool))
                {
                    return;
                }
            }
            catch (Exception e) when (e is NpgsqlException or InvalidOperationException)
            {
                // A connection the restart broke: the pool is asked again.
            }
        }
    }

    private static async Task<bool> AnsweredAsync(NpgsqlDataSource pool)
    {
        await using var command = pool.CreateCommand("SELECT 1");
        return await command.ExecuteScalarAsync() is 1;
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
