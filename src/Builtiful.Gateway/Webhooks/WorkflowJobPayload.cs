using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization;
using System.Text.Unicode;
using Builtiful.Jobs;

namespace Builtiful.Gateway.Webhooks;

/// <summary>
/// The fields of a <c>workflow_job</c> delivery that Builtiful keeps, bound from the signed UTF-8 bytes by System.Text.Json's
/// source generator (<see cref="WorkflowJobJson"/>). The whole body is still checked to be one well-formed UTF-8 JSON
/// object, but only these fields are materialised and type-checked: URLs, steps, the sender and the rest of GitHub's model
/// are skipped. Octokit.Webhooks' model is the reference this model is tested against.
/// </summary>
public sealed class WorkflowJobPayload
{
    [JsonConverter(typeof(SharedStringConverter))]
    public string? Action { get; init; }

    /// <summary>Null when the payload has no <c>workflow_job</c> object (absent or null).</summary>
    public WorkflowJobFields? WorkflowJob { get; init; }

    public InstallationFields? Installation { get; init; }

    public RepositoryFields? Repository { get; init; }

    /// <summary><c>installation.id</c>; 0 when the delivery names no installation.</summary>
    [JsonIgnore]
    public long InstallationId => Installation?.Id ?? 0;

    /// <summary>
    /// <c>repository.visibility</c>, else <c>repository.private</c> (absent reads as false, as GitHub's schema defaults it);
    /// <see cref="RepositoryVisibility.Unknown"/> when the delivery has no repository object.
    /// </summary>
    [JsonIgnore]
    public RepositoryVisibility Visibility =>
        Repository is { } repository ? RepositoryVisibilities.From(repository.Visibility, repository.Private ?? false) : RepositoryVisibility.Unknown;

    /// <summary>
    /// Parses one delivery body. Null when the body is the JSON literal <c>null</c>. Throws <see cref="JsonException"/>
    /// naming the offending field's path when the body is not UTF-8, not one JSON object, or a kept field has the wrong type.
    /// </summary>
    public static WorkflowJobPayload? Parse(ReadOnlySpan<byte> utf8)
    {
        // The reader checks only the strings it decodes; a skipped field must not smuggle invalid UTF-8 past the gateway.
        if (!Utf8.IsValid(utf8))
        {
            throw new JsonException("The body is not valid UTF-8.");
        }

        return JsonSerializer.Deserialize(utf8, WorkflowJobJson.Default.WorkflowJobPayload);
    }
}

public sealed class WorkflowJobFields
{
    public long? Id { get; init; }
    public long? RunId { get; init; }
    public long? RunAttempt { get; init; }
    [JsonConverter(typeof(SharedStringConverter))]
    public string? HeadBranch { get; init; }
    public string? HeadSha { get; init; }
    [JsonConverter(typeof(SharedStringConverter))]
    public string? WorkflowName { get; init; }
    [JsonConverter(typeof(SharedStringConverter))]
    public string? Name { get; init; }
    /// <summary>Settable, not init: the generator sets every init property it binds, so an absent array would read as null.</summary>
    [JsonConverter(typeof(LabelsConverter))]
    public IReadOnlyList<string> Labels { get; set; } = [];
    public string? RunnerName { get; init; }
    [JsonConverter(typeof(SharedStringConverter))]
    public string? Conclusion { get; init; }
    [JsonConverter(typeof(GitHubDateConverter))]
    public DateTimeOffset? CreatedAt { get; init; }
    [JsonConverter(typeof(GitHubDateConverter))]
    public DateTimeOffset? StartedAt { get; init; }
    [JsonConverter(typeof(GitHubDateConverter))]
    public DateTimeOffset? CompletedAt { get; init; }
}

public sealed class InstallationFields
{
    public long? Id { get; init; }
}

public sealed class RepositoryFields
{
    [JsonConverter(typeof(SharedStringConverter))]
    public string? FullName { get; init; }
    [JsonConverter(typeof(SharedStringConverter))]
    public string? Visibility { get; init; }
    public bool? Private { get; init; }
}

/// <summary>GitHub's snake_case names, strict JSON (no comments, no trailing commas, depth 64), read-only metadata.</summary>
[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower, GenerationMode = JsonSourceGenerationMode.Metadata)]
[JsonSerializable(typeof(WorkflowJobPayload))]
internal sealed partial class WorkflowJobJson : JsonSerializerContext;

/// <summary>A string that repeats across deliveries, shared through <see cref="Utf8StringCache"/>.</summary>
internal sealed class SharedStringConverter : JsonConverter<string>
{
    public override string? Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options) =>
        reader.TokenType == JsonTokenType.String ? Utf8StringCache.Get(ref reader) : throw new JsonException();

    public override void Write(Utf8JsonWriter writer, string value, JsonSerializerOptions options) => writer.WriteStringValue(value);
}

/// <summary>An array of strings, each shared; null reads as no labels, a null or non-string element is an error.</summary>
internal sealed class LabelsConverter : JsonConverter<IReadOnlyList<string>>
{
    public override bool HandleNull => true;

    public override IReadOnlyList<string> Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
    {
        if (reader.TokenType == JsonTokenType.Null)
        {
            return [];
        }

        if (reader.TokenType != JsonTokenType.StartArray)
        {
            throw new JsonException();
        }

        // Jobs carry one to a few labels; a small buffer grows only for unusual ones.
        var labels = new string[4];
        var count = 0;
        while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
        {
            if (reader.TokenType != JsonTokenType.String)
            {
                throw new JsonException();
            }

            if (count == labels.Length)
            {
                Array.Resize(ref labels, count * 2);
            }

            labels[count++] = Utf8StringCache.Get(ref reader);
        }

        Array.Resize(ref labels, count);
        return labels;
    }

    public override void Write(Utf8JsonWriter writer, IReadOnlyList<string> value, JsonSerializerOptions options)
    {
        writer.WriteStartArray();
        foreach (var label in value)
        {
            writer.WriteStringValue(label);
        }

        writer.WriteEndArray();
    }
}

/// <summary>ISO 8601 as GitHub sends it (anything <see cref="DateTimeOffset"/> parses invariantly), or Unix seconds as older deliveries did.</summary>
internal sealed class GitHubDateConverter : JsonConverter<DateTimeOffset?>
{
    public override bool HandleNull => true;

    public override DateTimeOffset? Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
    {
        const long min = -62_135_596_800, max = 253_402_300_799;
        return reader.TokenType switch
        {
            JsonTokenType.Null => null,
            JsonTokenType.String when reader.TryGetDateTimeOffset(out var iso) => iso,
            JsonTokenType.String when DateTimeOffset.TryParse(reader.GetString(), CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var parsed) => parsed,
            JsonTokenType.Number when reader.TryGetInt64(out var seconds) && seconds is >= min and <= max => DateTimeOffset.FromUnixTimeSeconds(seconds),
            _ => throw new JsonException(),
        };
    }

    public override void Write(Utf8JsonWriter writer, DateTimeOffset? value, JsonSerializerOptions options)
    {
        if (value is { } date)
        {
            writer.WriteStringValue(date);
        }
        else
        {
            writer.WriteNullValue();
        }
    }
}
