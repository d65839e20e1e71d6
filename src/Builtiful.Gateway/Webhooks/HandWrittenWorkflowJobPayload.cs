using System.Globalization;
using Builtiful.Jobs;
using System.Text.Json;
using System.Text.Unicode;

namespace Builtiful.Gateway.Webhooks;

/// <summary>
/// The fields of a <c>workflow_job</c> delivery that Builtiful keeps, read straight from the signed UTF-8 bytes with
/// <see cref="Utf8JsonReader"/>. The whole payload is still checked to be well-formed UTF-8 JSON, but only these fields
/// are materialised and type-checked: URLs, steps, the sender and the rest of GitHub's model are skipped, not built.
/// Octokit.Webhooks' model is the reference this parser is tested against.
/// </summary>
public sealed class HandWrittenWorkflowJobPayload
{
    private static readonly string[] NoLabels = [];

    /// <summary>The delivery's <c>action</c>; null when absent.</summary>
    public string? Action { get; private set; }

    /// <summary>False when the payload has no <c>workflow_job</c> object (absent or null).</summary>
    public bool HasWorkflowJob { get; private set; }

    public long Id { get; private set; }
    public long RunId { get; private set; }
    public long RunAttempt { get; private set; }
    public string? HeadBranch { get; private set; }
    public string? HeadSha { get; private set; }
    public string? WorkflowName { get; private set; }
    public string? Name { get; private set; }
    public IReadOnlyList<string> Labels { get; private set; } = NoLabels;
    public string? RunnerName { get; private set; }
    public string? Conclusion { get; private set; }
    public DateTimeOffset? CreatedAt { get; private set; }
    public DateTimeOffset? StartedAt { get; private set; }
    public DateTimeOffset? CompletedAt { get; private set; }

    /// <summary><c>installation.id</c>; 0 when the delivery names no installation.</summary>
    public long InstallationId { get; private set; }

    /// <summary><c>repository.full_name</c>; null when absent.</summary>
    public string? RepositoryFullName { get; private set; }

    /// <summary>
    /// <c>repository.visibility</c>, else <c>repository.private</c> (absent reads as false, as GitHub's schema defaults it);
    /// <see cref="RepositoryVisibility.Unknown"/> when the delivery has no repository object.
    /// </summary>
    public RepositoryVisibility Visibility { get; private set; }

    /// <summary>
    /// Parses one delivery body. Null when the body is the JSON literal <c>null</c>. Throws <see cref="JsonException"/>
    /// with a message naming the offending field when the body is not UTF-8, not JSON, or a kept field has the wrong type.
    /// </summary>
    public static HandWrittenWorkflowJobPayload? Parse(ReadOnlySpan<byte> utf8)
    {
        if (!Utf8.IsValid(utf8))
        {
            throw new JsonException("The body is not valid UTF-8.");
        }

        var reader = new Utf8JsonReader(utf8, new JsonReaderOptions { CommentHandling = JsonCommentHandling.Disallow, MaxDepth = 64 });
        reader.Read();
        if (reader.TokenType == JsonTokenType.Null)
        {
            EnsureEnd(ref reader);
            return null;
        }

        if (reader.TokenType != JsonTokenType.StartObject)
        {
            throw new JsonException($"The payload must be a JSON object, not {Describe(reader.TokenType)}.");
        }

        var payload = new HandWrittenWorkflowJobPayload();
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            if (reader.ValueTextEquals("action"u8))
            {
                reader.Read();
                payload.Action = ReadAction(ref reader);
            }
            else if (reader.ValueTextEquals("workflow_job"u8))
            {
                reader.Read();
                payload.ReadJob(ref reader);
            }
            else if (reader.ValueTextEquals("installation"u8))
            {
                reader.Read();
                payload.InstallationId = 0;
                if (Enter(ref reader, "installation"))
                {
                    while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
                    {
                        var isId = reader.ValueTextEquals("id"u8);
                        reader.Read();
                        if (isId)
                        {
                            payload.InstallationId = ReadInt64(ref reader, "installation.id");
                        }
                        else
                        {
                            reader.Skip();
                        }
                    }
                }
            }
            else if (reader.ValueTextEquals("repository"u8))
            {
                reader.Read();
                payload.RepositoryFullName = null;
                payload.Visibility = RepositoryVisibility.Unknown;
                if (Enter(ref reader, "repository"))
                {
                    string? visibility = null;
                    var isPrivate = false;
                    while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
                    {
                        if (reader.ValueTextEquals("full_name"u8))
                        {
                            reader.Read();
                            payload.RepositoryFullName = ReadString(ref reader, "repository.full_name", shared: true);
                        }
                        else if (reader.ValueTextEquals("visibility"u8))
                        {
                            reader.Read();
                            visibility = ReadString(ref reader, "repository.visibility", shared: true);
                        }
                        else if (reader.ValueTextEquals("private"u8))
                        {
                            reader.Read();
                            isPrivate = ReadBoolean(ref reader, "repository.private");
                        }
                        else
                        {
                            reader.Read();
                            reader.Skip();
                        }
                    }

                    payload.Visibility = RepositoryVisibilities.From(visibility, isPrivate);
                }
            }
            else
            {
                reader.Read();
                reader.Skip();
            }
        }

        EnsureEnd(ref reader);
        return payload;
    }

    private void ReadJob(ref Utf8JsonReader reader)
    {
        if (reader.TokenType == JsonTokenType.Null)
        {
            HasWorkflowJob = false;
            return;
        }

        if (reader.TokenType != JsonTokenType.StartObject)
        {
            throw new JsonException($"workflow_job must be an object, not {Describe(reader.TokenType)}.");
        }

        HasWorkflowJob = true;
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            if (reader.ValueTextEquals("id"u8))
            {
                reader.Read();
                Id = ReadInt64(ref reader, "workflow_job.id");
            }
            else if (reader.ValueTextEquals("run_id"u8))
            {
                reader.Read();
                RunId = ReadInt64(ref reader, "workflow_job.run_id");
            }
            else if (reader.ValueTextEquals("run_attempt"u8))
            {
                reader.Read();
                RunAttempt = ReadInt64(ref reader, "workflow_job.run_attempt");
            }
            else if (reader.ValueTextEquals("head_branch"u8))
            {
                reader.Read();
                HeadBranch = ReadString(ref reader, "workflow_job.head_branch", shared: true);
            }
            else if (reader.ValueTextEquals("head_sha"u8))
            {
                reader.Read();
                HeadSha = ReadString(ref reader, "workflow_job.head_sha");
            }
            else if (reader.ValueTextEquals("workflow_name"u8))
            {
                reader.Read();
                WorkflowName = ReadString(ref reader, "workflow_job.workflow_name", shared: true);
            }
            else if (reader.ValueTextEquals("name"u8))
            {
                reader.Read();
                Name = ReadString(ref reader, "workflow_job.name", shared: true);
            }
            else if (reader.ValueTextEquals("labels"u8))
            {
                reader.Read();
                Labels = ReadLabels(ref reader);
            }
            else if (reader.ValueTextEquals("runner_name"u8))
            {
                reader.Read();
                RunnerName = ReadString(ref reader, "workflow_job.runner_name");
            }
            else if (reader.ValueTextEquals("conclusion"u8))
            {
                reader.Read();
                Conclusion = ReadString(ref reader, "workflow_job.conclusion", shared: true);
            }
            else if (reader.ValueTextEquals("created_at"u8))
            {
                reader.Read();
                CreatedAt = ReadDate(ref reader, "workflow_job.created_at");
            }
            else if (reader.ValueTextEquals("started_at"u8))
            {
                reader.Read();
                StartedAt = ReadDate(ref reader, "workflow_job.started_at");
            }
            else if (reader.ValueTextEquals("completed_at"u8))
            {
                reader.Read();
                CompletedAt = ReadDate(ref reader, "workflow_job.completed_at");
            }
            else
            {
                reader.Read();
                reader.Skip();
            }
        }
    }

    /// <summary>True at the start of an object, false at null; anything else is the sender's error.</summary>
    private static bool Enter(ref Utf8JsonReader reader, string path) => reader.TokenType switch
    {
        JsonTokenType.StartObject => true,
        JsonTokenType.Null => false,
        _ => throw new JsonException($"{path} must be an object, not {Describe(reader.TokenType)}."),
    };

    private static string[] ReadLabels(ref Utf8JsonReader reader)
    {
        if (reader.TokenType == JsonTokenType.Null)
        {
            return NoLabels;
        }

        if (reader.TokenType != JsonTokenType.StartArray)
        {
            throw new JsonException($"workflow_job.labels must be an array of strings, not {Describe(reader.TokenType)}.");
        }

        // Jobs carry one to a few labels; a small buffer grows only for unusual ones.
        var labels = new string[4];
        var count = 0;
        while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
        {
            if (reader.TokenType != JsonTokenType.String)
            {
                throw new JsonException($"workflow_job.labels must be an array of strings; it holds {Describe(reader.TokenType)}.");
            }

            if (count == labels.Length)
            {
                Array.Resize(ref labels, count * 2);
            }

            labels[count++] = Utf8StringCache.Get(ref reader);
        }

        if (count != labels.Length)
        {
            Array.Resize(ref labels, count);
        }

        return labels;
    }

    /// <summary>The actions GitHub sends as shared literals; anything else as read.</summary>
    private static string? ReadAction(ref Utf8JsonReader reader)
    {
        if (reader.TokenType == JsonTokenType.String && !reader.ValueIsEscaped)
        {
            var value = reader.ValueSpan;
            if (value.SequenceEqual("queued"u8))
            {
                return "queued";
            }

            if (value.SequenceEqual("in_progress"u8))
            {
                return "in_progress";
            }

            if (value.SequenceEqual("completed"u8))
            {
                return "completed";
            }

            if (value.SequenceEqual("waiting"u8))
            {
                return "waiting";
            }
        }

        return ReadString(ref reader, "action");
    }

    /// <summary>A string or null; <paramref name="shared"/> values come from <see cref="Utf8StringCache"/>.</summary>
    private static string? ReadString(ref Utf8JsonReader reader, string path, bool shared = false) => reader.TokenType switch
    {
        JsonTokenType.String => shared ? Utf8StringCache.Get(ref reader) : reader.GetString(),
        JsonTokenType.Null => null,
        _ => throw new JsonException($"{path} must be a string, not {Describe(reader.TokenType)}."),
    };

    private static bool ReadBoolean(ref Utf8JsonReader reader, string path) => reader.TokenType switch
    {
        JsonTokenType.True => true,
        JsonTokenType.False or JsonTokenType.Null => false,
        _ => throw new JsonException($"{path} must be true or false, not {Describe(reader.TokenType)}."),
    };

    private static long ReadInt64(ref Utf8JsonReader reader, string path)
    {
        if (reader.TokenType == JsonTokenType.Null)
        {
            return 0;
        }

        if (reader.TokenType != JsonTokenType.Number || !reader.TryGetInt64(out var value))
        {
            throw new JsonException(reader.TokenType == JsonTokenType.Number
                ? $"{path} must be a 64-bit integer."
                : $"{path} must be an integer, not {Describe(reader.TokenType)}.");
        }

        return value;
    }

    /// <summary>ISO 8601 as GitHub sends it (anything <see cref="DateTimeOffset"/> parses invariantly), or Unix seconds; null stays null.</summary>
    private static DateTimeOffset? ReadDate(ref Utf8JsonReader reader, string path)
    {
        switch (reader.TokenType)
        {
            case JsonTokenType.Null:
                return null;
            case JsonTokenType.String:
                if (reader.TryGetDateTimeOffset(out var iso))
                {
                    return iso;
                }

                if (DateTimeOffset.TryParse(reader.GetString(), CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var parsed))
                {
                    return parsed;
                }

                throw new JsonException($"{path} is not a date.");
            case JsonTokenType.Number:
                const long min = -62_135_596_800, max = 253_402_300_799;
                if (reader.TryGetInt64(out var seconds) && seconds is >= min and <= max)
                {
                    return DateTimeOffset.FromUnixTimeSeconds(seconds);
                }

                throw new JsonException($"{path} is not a date in Unix seconds.");
            default:
                throw new JsonException($"{path} must be a date, not {Describe(reader.TokenType)}.");
        }
    }

    /// <summary>Nothing but whitespace may follow the payload; the reader throws on anything else.</summary>
    private static void EnsureEnd(ref Utf8JsonReader reader)
    {
        if (reader.Read())
        {
            throw new JsonException("The payload has more than one JSON value.");
        }
    }

    private static string Describe(JsonTokenType token) => token switch
    {
        JsonTokenType.StartObject => "an object",
        JsonTokenType.StartArray => "an array",
        JsonTokenType.String => "a string",
        JsonTokenType.Number => "a number",
        JsonTokenType.True or JsonTokenType.False => "a boolean",
        JsonTokenType.Null => "null",
        _ => token.ToString(),
    };
}
