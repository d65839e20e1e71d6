using Npgsql;

namespace Builtiful.Postgres.Tests;

[Collection(PostgresCollection.Name)]
public sealed class OrleansQueryContractTests(PostgresServer server)
{
    [Fact]
    public async Task Every_stored_query_runs_with_exactly_what_the_providers_send()
    {
        var database = await server.CreateDatabaseAsync("query_contract");
        await new SchemaMigrator().MigrateAsync(database, CancellationToken.None);
        var stored = (await Sql.RowsAsync(database, "SELECT QueryKey, QueryText FROM OrleansQuery"))
            .ToDictionary(r => (string)r["querykey"]!, r => (string)r["querytext"]!, StringComparer.Ordinal);

        Assert.Equal(OrleansQueryContract.Keys.Order(StringComparer.Ordinal), stored.Keys.Order(StringComparer.Ordinal));

        await using var connection = new NpgsqlConnection(database);
        await connection.OpenAsync();
        foreach (var (key, (parameters, columns)) in OrleansQueryContract.Queries)
        {
            // Npgsql leaves an unknown @Name in the SQL, so a query naming a parameter the provider never sends fails at run time.
            var unsent = OrleansQueryContract.ParametersUsedBy(stored[key]).Except(parameters).ToArray();
            Assert.True(unsent.Length == 0, $"{key} uses parameters the provider never sends: {string.Join(", ", unsent)}");

            // Run it for real, shaped as the provider shapes it, and throw the effects away.
            await using var transaction = await connection.BeginTransactionAsync();
            await using var command = new NpgsqlCommand(stored[key], connection, transaction);
            foreach (var name in parameters)
            {
                command.Parameters.Add(OrleansQueryContract.Parameter(name));
            }

            await using (var reader = await command.ExecuteReaderAsync())
            {
                if (columns is not null)
                {
                    var returned = Enumerable.Range(0, reader.FieldCount).Select(reader.GetName).ToHashSet(StringComparer.OrdinalIgnoreCase);
                    var missing = columns.Where(c => !returned.Contains(c)).ToArray();
                    Assert.True(missing.Length == 0, $"{key} does not return the columns the provider reads: {string.Join(", ", missing)}");
                }

                if (OrleansQueryContract.SingleValueQueries.Contains(key))
                {
                    Assert.True(reader.FieldCount == 1, $"{key} must return exactly one column, not {reader.FieldCount}");
                    Assert.True(await reader.ReadAsync(), $"{key} must return a row");
                    _ = Convert.ToBoolean(reader.GetValue(0), System.Globalization.CultureInfo.InvariantCulture);
                }

                while (await reader.NextResultAsync())
                {
                }
            }

            await transaction.RollbackAsync();
        }
    }
}
