namespace Builtiful.Retention;

/// <summary>Configuration section <c>Retention</c>: how long job metadata is kept, and how deletion is paced.</summary>
public sealed class RetentionOptions
{
    public const string Section = "Retention";

    /// <summary>GitHub cancels a workflow run after 35 days, so a job first seen longer ago than this cannot still be live.</summary>
    public static readonly TimeSpan LongestWorkflowRun = TimeSpan.FromDays(35);

    /// <summary>Job metadata (repository, branch, SHA, names, labels) and lease records older than this are deleted.</summary>
    [SettingRange(typeof(TimeSpan), "01:00:00", "3650.00:00:00", ErrorMessage = "it must be between 01:00:00 (one hour) and 3650.00:00:00 (ten years), e.g. 90.00:00:00 for 90 days")]
    public TimeSpan JobMetadata { get; set; } = TimeSpan.FromDays(90);

    /// <summary>How often each installation's records are swept.</summary>
    [SettingRange(typeof(TimeSpan), "00:00:01", "1.00:00:00", ErrorMessage = "it must be between 00:00:01 and 1.00:00:00")]
    public TimeSpan SweepPeriod { get; set; } = TimeSpan.FromHours(1);

    /// <summary>Records one installation's sweep deletes at most; the rest wait for the next sweep.</summary>
    [SettingRange(1, 100_000, ErrorMessage = "it must be between 1 and 100000")]
    public int MaxRecordsPerSweep { get; set; } = 1000;

    /// <summary>What is wrong with the options, one line per problem (<see cref="RetentionOptionsValidator"/>); empty when they are valid.</summary>
    public IEnumerable<string> Problems() =>
        new RetentionOptionsValidator().Validate(null, this) is { Failed: true, Failures: { } failures } ? failures : [];
}
