namespace Builtiful.Usage;

/// <summary>A month of one installation's counted jobs; minutes and metrics are derived from them, so they cannot drift apart.</summary>
[GenerateSerializer, Alias("builtiful.usage-state")]
public sealed record UsageState
{
    /// <summary>By job id: the key is what makes counting idempotent.</summary>
    [Id(0)] public Dictionary<long, CountedJob> Jobs { get; set; } = [];
}
