namespace Builtiful.Postgres.Tests;

[Collection(PostgresCollection.Name)]
public sealed class PostgresServerTests(PostgresServer server)
{
    [Fact]
    public async Task The_server_is_private_to_the_test_and_keeps_its_data_across_a_restart()
    {
        Assert.Equal("127.0.0.1", await Sql.ScalarAsync<string>(server.ConnectionString, "SHOW listen_addresses"));
        var socketDirectory = await Sql.ScalarAsync<string>(server.ConnectionString, "SHOW unix_socket_directories");
        Assert.StartsWith(Path.Combine(Path.GetTempPath(), "builtiful-pg-"), socketDirectory, StringComparison.Ordinal);
        Assert.StartsWith("15.", await Sql.ScalarAsync<string>(server.ConnectionString, "SHOW server_version"), StringComparison.Ordinal);

        var database = await server.CreateDatabaseAsync("restart_survivor");
        await Sql.ScalarAsync<int>(database, "CREATE TABLE kept (id integer); INSERT INTO kept VALUES (7); SELECT 1");
        var startedBefore = await Sql.ScalarAsync<DateTime>(server.ConnectionString, "SELECT pg_postmaster_start_time()");

        await server.RestartAsync();

        Assert.True(await Sql.ScalarAsync<DateTime>(server.ConnectionString, "SELECT pg_postmaster_start_time()") > startedBefore);
        Assert.Equal(7, await Sql.ScalarAsync<int>(database, "SELECT id FROM kept"));
    }
}
