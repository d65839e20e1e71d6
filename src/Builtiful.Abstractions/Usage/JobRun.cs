namespace Builtiful.Usage;

/// <summary>A job that ran on one of our VMs and completed: what billing and execution metrics need, nothing more.</summary>
[GenerateSerializer, Immutable, Alias("builtiful.job-run")]
public sealed record JobRun
{
    [Id(0)] public required long JobId { get; init; }
    [Id(1)] public required string MachineType { get; init; }
    [Id(2)] public required Guid LeaseId { get; init; }
    [Id(3)] public DateTimeOffset? QueuedAt { get; init; }
    [Id(4)] public required DateTimeOffset StartedAt { get; init; }
    [Id(5)] public required DateTimeOffset CompletedAt { get; init; }
    [Id(6)] public string? Conclusion { get; init; }
    [Id(7)] public string? Repository { get; init; }
    /// <summary>Whole minutes, rounded up, at least one: what the job is billed.</summary>
    [Id(8)] public long BillableMinutes { get; init; }

    /// <summary>Started to completed, rounded up to the whole minute; a job that ran at all is billed at least one.</summary>
    public static long MinutesBetween(DateTimeOffset startedAt, DateTimeOffset completedAt)
    {
        var ticks = Math.Max(0, (completedAt - startedAt).Ticks);
        return Math.Max(1, (ticks + TimeSpan.TicksPerMinute - 1) / TimeSpan.TicksPerMinute);
    }
}

[GenerateSerializer, Immutable, Alias("builtiful.job-run-page")]
public sealed record JobRunPage(
    [property: Id(0)] IReadOnlyList<JobRun> Items,
    [property: Id(1)] int Total);
