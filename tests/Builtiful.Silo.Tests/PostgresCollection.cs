namespace Builtiful.Silo.Tests;

/// <summary>Tests on the real PostgreSQL server share one server, one test at a time; each test has its own database.</summary>
[CollectionDefinition(Name)]
public sealed class PostgresCollection : ICollectionFixture<PostgresServer>
{
    public const string Name = "PostgreSQL";
}
