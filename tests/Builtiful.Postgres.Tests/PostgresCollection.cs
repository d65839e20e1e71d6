namespace Builtiful.Postgres.Tests;

/// <summary>All PostgreSQL tests share one server; xunit runs the tests of one collection one at a time.</summary>
[CollectionDefinition(Name)]
public sealed class PostgresCollection : ICollectionFixture<PostgresServer>
{
    public const string Name = "PostgreSQL";
}
