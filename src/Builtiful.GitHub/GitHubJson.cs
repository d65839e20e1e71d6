using System.Text.Json.Serialization;

namespace Builtiful.GitHub;

/// <summary>The REST shapes Builtiful reads and writes, serialised without reflection.</summary>
[JsonSourceGenerationOptions(
    PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower,
    DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(AccessTokenResponse))]
[JsonSerializable(typeof(JitConfigRequest))]
[JsonSerializable(typeof(JitConfigResponse))]
[JsonSerializable(typeof(RunnerList))]
[JsonSerializable(typeof(List<HookDelivery>))]
internal sealed partial class GitHubJson : JsonSerializerContext;

/// <summary>A class, not a record, so no generated ToString can print the token.</summary>
internal sealed class AccessTokenResponse
{
    public string? Token { get; set; }

    public DateTimeOffset ExpiresAt { get; set; }
}

internal sealed record JitConfigRequest(string Name, long RunnerGroupId, IReadOnlyList<string> Labels, string WorkFolder);

/// <summary>A class, not a record, so no generated ToString can print the JIT config.</summary>
internal sealed class JitConfigResponse
{
    public string? EncodedJitConfig { get; set; }
}

internal sealed class RunnerList
{
    public int TotalCount { get; set; }

    public List<RunnerItem> Runners { get; set; } = [];
}

internal sealed class RunnerItem
{
    public long Id { get; set; }

    public string Name { get; set; } = "";

    public string? Os { get; set; }

    public string? Status { get; set; }

    public bool Busy { get; set; }

    public List<RunnerLabel> Labels { get; set; } = [];
}

internal sealed class RunnerLabel
{
    public string Name { get; set; } = "";
}

internal sealed class HookDelivery
{
    public long Id { get; set; }

    public string Guid { get; set; } = "";

    public DateTimeOffset DeliveredAt { get; set; }

    public bool Redelivery { get; set; }

    public string? Status { get; set; }

    public int StatusCode { get; set; }

    public string? Event { get; set; }

    public string? Action { get; set; }

    public long? InstallationId { get; set; }
}
