namespace Builtiful.Postgres;

/// <summary>One statement of a script and where it starts, so a server error position can be turned into a line and column.</summary>
internal readonly record struct SqlStatement(int Offset, string Text);

/// <summary>
/// Splits a PostgreSQL script at top-level semicolons, skipping those inside quotes, dollar quotes and comments.
/// SQL-standard function bodies (BEGIN ATOMIC ... END) are not supported; use dollar-quoted bodies.
/// </summary>
internal static class SqlStatements
{
    public static IReadOnlyList<SqlStatement> Split(string sql)
    {
        ArgumentNullException.ThrowIfNull(sql);
        var statements = new List<SqlStatement>();
        var start = 0;
        var hasCode = false;
        var i = 0;
        while (i < sql.Length)
        {
            var c = sql[i];
            var next = i + 1 < sql.Length ? sql[i + 1] : '\0';
            if (c == '-' && next == '-')
            {
                i = SkipLineComment(sql, i);
            }
            else if (c == '/' && next == '*')
            {
                i = SkipBlockComment(sql, i);
            }
            else if (c == ';')
            {
                Add(statements, sql, start, i + 1, hasCode);
                start = i + 1;
                hasCode = false;
                i++;
            }
            else
            {
                hasCode |= !char.IsWhiteSpace(c);
                i = c switch
                {
                    '\'' => SkipQuoted(sql, i, '\'', backslashEscapes: i > 0 && sql[i - 1] is 'E' or 'e' && !IsIdentifierChar(sql, i - 2)),
                    '"' => SkipQuoted(sql, i, '"', backslashEscapes: false),
                    '$' when !IsIdentifierChar(sql, i - 1) => SkipDollarQuoted(sql, i),
                    _ => i + 1,
                };
            }
        }

        Add(statements, sql, start, sql.Length, hasCode);
        return statements;
    }

    /// <summary>The statement's first word in upper case, after any leading whitespace and comments.</summary>
    public static string FirstWord(string statement)
    {
        var start = CodeStart(statement);
        var end = start;
        while (end < statement.Length && char.IsLetter(statement[end]))
        {
            end++;
        }

        return statement[start..end].ToUpperInvariant();
    }

    /// <summary>Index of the statement's first character that is neither whitespace nor comment.</summary>
    public static int CodeStart(string statement)
    {
        ArgumentNullException.ThrowIfNull(statement);
        var i = 0;
        while (i < statement.Length)
        {
            if (char.IsWhiteSpace(statement[i]))
            {
                i++;
            }
            else if (statement.AsSpan(i).StartsWith("--", StringComparison.Ordinal))
            {
                i = SkipLineComment(statement, i);
            }
            else if (statement.AsSpan(i).StartsWith("/*", StringComparison.Ordinal))
            {
                i = SkipBlockComment(statement, i);
            }
            else
            {
                break;
            }
        }

        return i;
    }

    private static void Add(List<SqlStatement> statements, string sql, int start, int end, bool hasCode)
    {
        if (hasCode)
        {
            statements.Add(new SqlStatement(start, sql[start..end]));
        }
    }

    private static bool IsIdentifierChar(string sql, int index)
        => index >= 0 && (char.IsLetterOrDigit(sql[index]) || sql[index] is '_' or '$');

    private static int SkipLineComment(string sql, int i)
    {
        var end = sql.IndexOf('\n', i);
        return end < 0 ? sql.Length : end + 1;
    }

    // PostgreSQL block comments nest.
    private static int SkipBlockComment(string sql, int i)
    {
        var depth = 0;
        while (i < sql.Length)
        {
            if (sql[i] == '/' && i + 1 < sql.Length && sql[i + 1] == '*')
            {
                depth++;
                i += 2;
            }
            else if (sql[i] == '*' && i + 1 < sql.Length && sql[i + 1] == '/')
            {
                depth--;
                i += 2;
                if (depth == 0)
                {
                    return i;
                }
            }
            else
            {
                i++;
            }
        }

        return i;
    }

    // A doubled quote is an escaped quote in both strings and identifiers; E'' strings also escape with a backslash.
    private static int SkipQuoted(string sql, int i, char quote, bool backslashEscapes)
    {
        i++;
        while (i < sql.Length)
        {
            if (backslashEscapes && sql[i] == '\\')
            {
                i += 2;
            }
            else if (sql[i] == quote)
            {
                if (i + 1 < sql.Length && sql[i + 1] == quote)
                {
                    i += 2;
                }
                else
                {
                    return i + 1;
                }
            }
            else
            {
                i++;
            }
        }

        return i;
    }

    // $tag$ ... $tag$ where tag is empty or an identifier; $1 and the like are parameters, not quotes.
    private static int SkipDollarQuoted(string sql, int i)
    {
        var tagEnd = i + 1;
        while (tagEnd < sql.Length && (char.IsLetter(sql[tagEnd]) || sql[tagEnd] == '_' || (tagEnd > i + 1 && char.IsDigit(sql[tagEnd]))))
        {
            tagEnd++;
        }

        if (tagEnd >= sql.Length || sql[tagEnd] != '$')
        {
            return i + 1;
        }

        var tag = sql[i..(tagEnd + 1)];
        var close = sql.IndexOf(tag, tagEnd + 1, StringComparison.Ordinal);
        return close < 0 ? sql.Length : close + tag.Length;
    }
}
