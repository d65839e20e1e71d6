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
    /// <summary>The open page: records not yet sealed into a page grain. A page grain holds its records here.</summary>
    [Id(0)] public HashSet<long> Jobs { get; set; } = [];
    [Id(1)] public HashSet<Guid> Leases { get; set; } = [];

    /// <summary>How many records each sealed page still holds, oldest page first (a page grain's state holds them).</summary>
    [Id(2)] public List<int> Pages { get; set; } = [];
}
