using System.Security.Cryptography;
using Npgsql;

namespace Builtiful.Postgres.Tests;

/// <summary>
/// How the migrated schema stores sealed grain state, read from PostgreSQL's own catalogue: a payload that fits a page
/// stays in its row however often it is written (no TOAST chunks inserted and deleted per write), and one that does not
/// goes out of line uncompressed (ciphertext does not compress, so PostgreSQL is not made to try).
/// </summary>
[Collection(PostgresCollection.Name)]
public sealed class GrainStateLayoutTests(PostgresServer server)
{
    [Fact]
    public async Task A_state_up_to_a_page_stays_in_its_row_and_a_larger_one_is_stored_out_of_line_uncompressed()
    {
        var database = await server.CreateDatabaseAsync("grain_state_layout");
        await new SchemaMigrator().MigrateAsync(database, CancellationToken.None);
        var toast = await Sql.ScalarAsync<string>(database, "SELECT reltoastrelid::regclass::text FROM pg_class WHERE relname = 'orleansstorage'");
        Assert.NotNull(toast);

        // A 6 KB state written three times, and a 12 KB one once.
        var page = RandomNumberGenerator.GetBytes(6_000);
        var version = await WriteAsync(database, grain: 1, expected: null, page);
        version = await WriteAsync(database, grain: 1, expected: version, RandomNumberGenerator.GetBytes(6_000));
        page = RandomNumberGenerator.GetBytes(6_000);
        Assert.Equal(3, await WriteAsync(database, grain: 1, expected: version, page));
        var large = RandomNumberGenerator.GetBytes(12_000);
        Assert.Equal(1, await WriteAsync(database, grain: 2, expected: null, large));

        Assert.Equal(1L, await Sql.ScalarAsync<long>(database, $"SELECT count(DISTINCT chunk_id) FROM {toast}")); // the 12 KB state's only
        var stored = await Sql.RowsAsync(database,
            "SELECT GrainIdN0, PayloadBinary, pg_column_compression(PayloadBinary) AS compression FROM OrleansStorage ORDER BY GrainIdN0");
        Assert.Equal(page, (byte[])stored[0]["payloadbinary"]!);
        Assert.Equal(large, (byte[])stored[1]["payloadbinary"]!);
        Assert.All(stored, row => Assert.Null(row["compression"]));
    }

    private static async Task<int> WriteAsync(string database, long grain, int? expected, byte[] payload)
    {
        await using var connection = new NpgsqlConnection(database);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(
            "SELECT orleans_storage_write('builtiful', 7, 'organisation', $1, $2, 0, NULL, $3, $4)", connection);
        command.Parameters.Add(new NpgsqlParameter<int> { TypedValue = (int)grain });
        command.Parameters.Add(new NpgsqlParameter<long> { TypedValue = grain });
        command.Parameters.Add(new NpgsqlParameter { Value = (object?)expected ?? DBNull.Value, NpgsqlDbType = NpgsqlTypes.NpgsqlDbType.Integer });
        command.Parameters.Add(new NpgsqlParameter<byte[]> { TypedValue = payload });
        return (int)(await command.ExecuteScalarAsync())!;
    }
}
