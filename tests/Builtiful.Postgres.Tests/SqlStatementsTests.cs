namespace Builtiful.Postgres.Tests;

public sealed class SqlStatementsTests
{
    [Fact]
    public void Semicolons_inside_quotes_dollar_quotes_and_comments_do_not_split()
    {
        const string sql = """
            -- a comment; still a comment
            CREATE FUNCTION f() RETURNS text LANGUAGE plpgsql AS $fn$ BEGIN RETURN 'a;b'; END $fn$;
            /* block /* nested; */ comment; */ INSERT INTO "odd;name" VALUES ('it''s; fine', E'back\'slash;', $$x;y$$);
            SELECT price$1 FROM t WHERE a = $1;
            -- trailing comment only
            """;

        var statements = SqlStatements.Split(sql);

        Assert.Equal(3, statements.Count);
        Assert.EndsWith("$fn$;", statements[0].Text, StringComparison.Ordinal);
        Assert.EndsWith("$$x;y$$);", statements[1].Text, StringComparison.Ordinal);
        Assert.EndsWith("WHERE a = $1;", statements[2].Text, StringComparison.Ordinal);
        Assert.All(statements, s => Assert.Equal(s.Text, sql.Substring(s.Offset, s.Text.Length)));
    }

    [Theory]
    [InlineData("  -- note\n/* block */ commit;", "COMMIT")]
    [InlineData("\nCREATE TABLE t (id int);", "CREATE")]
    [InlineData("-- only a comment", "")]
    public void The_first_word_skips_whitespace_and_comments(string statement, string expected)
        => Assert.Equal(expected, SqlStatements.FirstWord(statement));

    [Fact]
    public void A_last_statement_without_a_semicolon_is_kept()
    {
        var statements = SqlStatements.Split("SELECT 1;\nSELECT 2");

        Assert.Equal(["SELECT 1;", "\nSELECT 2"], statements.Select(s => s.Text));
    }

    [Fact]
    public void Every_bundled_script_splits_into_statements_that_each_start_with_a_keyword()
    {
        foreach (var script in BundledMigrations.Load())
        {
            var statements = SqlStatements.Split(script.Sql);
            Assert.NotEmpty(statements);
            Assert.All(statements, s => Assert.Matches(@"^\s*(?:--[^\n]*\n\s*)*(CREATE|INSERT|ALTER)\b", s.Text));
        }
    }
}
