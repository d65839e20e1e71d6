namespace Builtiful.Silo.Tests;

/// <summary>The silo's <c>migrate</c>, the one command that creates the schema, on a real PostgreSQL server the fixture starts itself.</summary>
public sealed class MigrateTests(PostgresServer postgres) : IClassFixture<PostgresServer>
{
    [Fact]
    public async Task Migrate_applies_the_schema_once_and_then_finds_it_up_to_date()
    {
        var database = await postgres.CreateDatabaseAsync("silo_migrate");
        using var first = new StringWriter();
        using var second = new StringWriter();

        var firstExit = await BuiltifulCommands.RunAsync(["migrate", $"--ConnectionStrings:Builtiful={database}"], first);
        var secondExit = await BuiltifulCommands.RunAsync(["migrate", $"--ConnectionStrings:Builtiful={database}"], second);

        Assert.True(firstExit == 0, first.ToString());
        Assert.StartsWith("Applied ", first.ToString(), StringComparison.Ordinal);
        Assert.True(secondExit == 0, second.ToString());
        Assert.StartsWith("The schema is up to date", second.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Migrate_against_a_database_that_is_not_there_fails_with_the_reason()
    {
        using var output = new StringWriter();

        var exit = await BuiltifulCommands.RunAsync(
            ["migrate", $"--ConnectionStrings:Builtiful=Host=127.0.0.1;Port={BuiltifulInstance.FreePort()};Database=none;Username=none;Timeout=3"], output);

        Assert.Equal(1, exit);
        Assert.StartsWith("migrate failed: ", output.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Migrate_without_a_database_names_the_key()
    {
        using var output = new StringWriter();

        var exit = await BuiltifulCommands.RunAsync(["migrate", "--ConnectionStrings:Builtiful="], output);

        Assert.Equal(2, exit);
        Assert.StartsWith("ConnectionStrings:Builtiful is not set", output.ToString(), StringComparison.Ordinal);
    }
}
