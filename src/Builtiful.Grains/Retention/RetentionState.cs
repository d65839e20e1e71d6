namespace Builtiful.Retention;

[GenerateSerializer, Alias("builtiful.retention-state")]
public sealed record RetentionState
{
    /// <summary>Hours (UTC, on the hour) that still hold records, oldest first.</summary>
    [Id(0)] public List<DateTimeOffset> Hours { get; set; } = [];
}

[GenerateSerializer, Alias("builtiful.retention-hour-state")]
public sealed record RetentionHourState
{
    [Id(0)] public HashSet<long> Jobs { get; set; } = [];
    [Id(1)] public HashSet<Guid> Leases { get; set; } = [];
}
