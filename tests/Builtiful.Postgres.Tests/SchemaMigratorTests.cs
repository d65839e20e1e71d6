namespace Builtiful.Postgres.Tests;

[Collection(PostgresCollection.Name)]
public sealed class SchemaMigratorTests(PostgresServer server)
{
    private static readonly string[] BundledVersions = ["0001", "0002", "0003", "0004", "0005", "0006"];

    [Fact]
    public async Task An_empty_database_is_migrated_once_and_the_second_run_applies_nothing()
    {
        var database = await server.CreateDatabaseAsync("migrate_twice");

        var appliedAt = new DateTimeOffset(2026, 3, 4, 5, 6, 7, TimeSpan.Zero);
        var first = await new SchemaMigrator(BundledMigrations.Load(), new FixedTime(appliedAt)).MigrateAsync(database, CancellationToken.None);
        var second = await new SchemaMigrator().MigrateAsync(database, CancellationToken.None);

        Assert.Equal(BundledVersions, first.Applied);
        Assert.Empty(first.Skipped);
        Assert.Empty(second.Applied);
        Assert.Equal(BundledVersions, second.Skipped);

        var history = await Sql.RowsAsync(database, "SELECT version, name, checksum, applied_at FROM builtiful_schema_migrations ORDER BY version");
        Assert.Equal(BundledVersions, history.Select(r => (string)r["version"]!));
        Assert.All(history, r => Assert.Equal(appliedAt.UtcDateTime, r["applied_at"]));
        Assert.Equal(
            BundledMigrations.Load().Select(s => s.Checksum),
            history.Select(r => (string)r["checksum"]!));

        foreach (var table in new[] { "orleansquery", "orleansmembershipversiontable", "orleansmembershiptable", "orleansstorage", "orleansreminderstable" })
        {
            Assert.True(await Sql.TableExistsAsync(database, table), $"table {table} is missing");
        }

        Assert.True(await Sql.TableExistsAsync(database, "ix_orleansreminderstable_serviceid_grainhash"), "the reminder range index is missing");
        var queryKeys = await Sql.RowsAsync(database, "SELECT QueryKey FROM OrleansQuery ORDER BY QueryKey");
        Assert.Equal(OrleansQueryContract.Keys.Order(StringComparer.Ordinal), queryKeys.Select(r => (string)r["querykey"]!));
    }

    [Fact]
    public async Task A_broken_script_is_rolled_back_whole_and_named_in_the_error()
    {
        var database = await server.CreateDatabaseAsync("migrate_broken");
        var broken = new MigrationScript(
            "0007",
            "broken",
            """
            CREATE TABLE half_done (id integer PRIMARY KEY);
            INSERT INTO half_done SELECT id FROM no_such_table;
            """);

        var error = await Assert.ThrowsAsync<MigrationFailedException>(
            () => new SchemaMigrator([.. BundledMigrations.Load(), broken]).MigrateAsync(database, CancellationToken.None));

        Assert.Equal("0007_broken", error.ScriptName);
        Assert.Equal("42P01", error.SqlState);
        Assert.Contains("0007_broken", error.Message, StringComparison.Ordinal);
        Assert.Contains("relation \"no_such_table\" does not exist", error.Message, StringComparison.Ordinal);
        Assert.Contains("SQLSTATE 42P01", error.Message, StringComparison.Ordinal);
        Assert.Contains("at line 2, column 38", error.Message, StringComparison.Ordinal);

        // The scripts before it committed on their own; nothing of the broken one survived.
        Assert.False(await Sql.TableExistsAsync(database, "half_done"), "the broken script's first statement was not rolled back");
        var history = await Sql.RowsAsync(database, "SELECT version FROM builtiful_schema_migrations ORDER BY version");
        Assert.Equal(BundledVersions, history.Select(r => (string)r["version"]!));
    }

    [Fact]
    public async Task A_script_that_commits_by_itself_is_refused_before_anything_runs()
    {
        var database = await server.CreateDatabaseAsync("migrate_commit");
        var first = new MigrationScript("0001", "fine", "CREATE TABLE fine (id integer PRIMARY KEY);");
        var committing = new MigrationScript(
            "0002",
            "commits",
            """
            CREATE TABLE early (id integer PRIMARY KEY);
            -- the author meant well
            COMMIT;
            CREATE TABLE late (id integer PRIMARY KEY);
            """);

        var error = await Assert.ThrowsAsync<MigrationFailedException>(
            () => new SchemaMigrator([first, committing]).MigrateAsync(database, CancellationToken.None));

        Assert.Equal("0002_commits", error.ScriptName);
        Assert.Contains("COMMIT at line 3", error.Message, StringComparison.Ordinal);
        Assert.False(await Sql.TableExistsAsync(database, "fine"), "no script may run when one of them controls transactions");
        Assert.False(await Sql.TableExistsAsync(database, "early"));
    }

    [Fact]
    public async Task An_edited_script_that_was_already_applied_is_refused()
    {
        var database = await server.CreateDatabaseAsync("migrate_checksum");
        var original = new MigrationScript("0001", "widgets", "CREATE TABLE widgets (id integer PRIMARY KEY);");
        await new SchemaMigrator([original]).MigrateAsync(database, CancellationToken.None);

        var edited = new MigrationScript("0001", "widgets", "CREATE TABLE widgets (id bigint PRIMARY KEY);");
        var next = new MigrationScript("0002", "gadgets", "CREATE TABLE gadgets (id integer PRIMARY KEY);");
        var error = await Assert.ThrowsAsync<MigrationFailedException>(
            () => new SchemaMigrator([edited, next]).MigrateAsync(database, CancellationToken.None));

        Assert.Equal("0001_widgets", error.ScriptName);
        Assert.Contains("0001_widgets", error.Message, StringComparison.Ordinal);
        Assert.Contains(original.Checksum, error.Message, StringComparison.Ordinal);
        Assert.Contains(edited.Checksum, error.Message, StringComparison.Ordinal);
        Assert.False(await Sql.TableExistsAsync(database, "gadgets"), "no script may run once a checksum mismatch is found");
    }

    [Fact]
    public async Task Concurrent_migrators_apply_each_script_exactly_once()
    {
        var database = await server.CreateDatabaseAsync("migrate_concurrently");

        var reports = await Task.WhenAll(
            Task.Run(() => new SchemaMigrator().MigrateAsync(database, CancellationToken.None)),
            Task.Run(() => new SchemaMigrator().MigrateAsync(database, CancellationToken.None)));

        Assert.Equal(BundledVersions, reports.SelectMany(r => r.Applied).Order(StringComparer.Ordinal));
        Assert.All(reports, r => Assert.Equal(BundledVersions, r.Applied.Concat(r.Skipped).Order(StringComparer.Ordinal)));
    }

    private sealed class FixedTime(DateTimeOffset now) : TimeProvider
    {
        public override DateTimeOffset GetUtcNow() => now;
    }
}
