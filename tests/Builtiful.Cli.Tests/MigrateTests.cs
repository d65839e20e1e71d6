namespace Builtiful.Cli.Tests;

/// <summary><c>migrate</c> on a real PostgreSQL server the fixture starts itself.</summary>
public sealed class MigrateTests(PostgresServer postgres) : IClassFixture<PostgresServer>
{
    [Fact]
    public async Task Migrate_applies_the_schema_once_and_then_finds_it_up_to_date()
    {
        var database = await postgres.CreateDatabaseAsync("cli_migrate");

        var first = await Cli.RunAsync("migrate", "--connection-string", database);
        var second = await Cli.RunAsync("migrate", "--connection-string", database);

        Assert.True(first.ExitCode == 0, first.ToString());
        Assert.StartsWith("Applied ", first.Output, StringComparison.Ordinal);
        Assert.Contains("migrating cli_migrate on 127.0.0.1", first.Error, StringComparison.Ordinal);
        Assert.True(second.ExitCode == 0, second.ToString());
        Assert.StartsWith("The schema is up to date", second.Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Migrate_against_a_database_that_is_not_there_fails_with_the_reason()
    {
        var run = await Cli.RunAsync("migrate", "--connection-string", $"Host=127.0.0.1;Port={BuiltifulInstance.FreePort()};Database=none;Username=none;Timeout=3");

        Assert.Equal(1, run.ExitCode);
        Assert.StartsWith("migrate failed: ", run.Error.Split('\n').Last(l => l.Length > 0), StringComparison.Ordinal);
    }
}
