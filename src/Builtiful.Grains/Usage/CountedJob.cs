namespace Builtiful.Usage;

/// <summary>One billed job: machine type, timing, conclusion and the lease it ran on.</summary>
[GenerateSerializer, Alias("builtiful.counted-job")]
public sealed record CountedJob
{
    [Id(0)] public required long JobId { get; init; }
    [Id(1)] public required string MachineType { get; init; }
    [Id(2)] public Guid LeaseId { get; init; }
    [Id(3)] public DateTimeOffset? QueuedAt { get; init; }
    [Id(4)] public DateTimeOffset StartedAt { get; init; }
    [Id(5)] public DateTimeOffset CompletedAt { get; init; }
    [Id(6)] public string? Conclusion { get; init; }
    [Id(7)] public string? Repository { get; init; }
    [Id(8)] public long BillableMinutes { get; init; }

    /// <summary>Null when GitHub gave no queue instant or the clocks disagree.</summary>
    public TimeSpan? QueueTime => QueuedAt is { } queued && StartedAt >= queued ? StartedAt - queued : null;

    public TimeSpan Duration => CompletedAt >= StartedAt ? CompletedAt - StartedAt : TimeSpan.Zero;

    public static CountedJob From(JobRun run) => new()
    {
        JobId = run.JobId,
        MachineType = run.MachineType,
        LeaseId = run.LeaseId,
        QueuedAt = run.QueuedAt,
        StartedAt = run.StartedAt,
        CompletedAt = run.CompletedAt,
        Conclusion = run.Conclusion,
        Repository = run.Repository,
        BillableMinutes = JobRun.MinutesBetween(run.StartedAt, run.CompletedAt),
    };

    public JobRun ToRun() => new()
    {
        JobId = JobId,
        MachineType = MachineType,
        LeaseId = LeaseId,
        QueuedAt = QueuedAt,
        StartedAt = StartedAt,
        CompletedAt = CompletedAt,
        Conclusion = Conclusion,
        Repository = Repository,
        BillableMinutes = BillableMinutes,
    };
}
