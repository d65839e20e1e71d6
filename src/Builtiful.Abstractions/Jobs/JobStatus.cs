namespace Builtiful.Jobs;

/// <summary>
/// GitHub's job status. A job only ever moves to a later <see cref="JobStatusNames.Rank"/>; the numeric values are
/// persisted and never change, and they are not the order (<c>waiting</c> comes before the <c>queued</c> of an approval).
/// </summary>
public enum JobStatus
{
    Queued = 0,
    Waiting = 1,
    InProgress = 2,
    Completed = 3,
}

public static class JobStatusNames
{
    /// <summary>
    /// The order GitHub moves a job through: <c>waiting</c> (held by an environment's protection rule), <c>queued</c>
    /// (approved, or never held), <c>in_progress</c>, <c>completed</c>.
    /// </summary>
    public static int Rank(this JobStatus status) => status switch
    {
        JobStatus.Waiting => 0,
        JobStatus.Queued => 1,
        JobStatus.InProgress => 2,
        JobStatus.Completed => 3,
        _ => throw new ArgumentOutOfRangeException(nameof(status), status, "Unknown job status."),
    };

    public static string ToWire(this JobStatus status) => status switch
    {
        JobStatus.Queued => "queued",
        JobStatus.Waiting => "waiting",
        JobStatus.InProgress => "in_progress",
        JobStatus.Completed => "completed",
        _ => throw new ArgumentOutOfRangeException(nameof(status), status, "Unknown job status."),
    };

    public static bool TryParse(string? action, out JobStatus status)
    {
        switch (action)
        {
            case "queued": status = JobStatus.Queued; return true;
            case "waiting": status = JobStatus.Waiting; return true;
            case "in_progress": status = JobStatus.InProgress; return true;
            case "completed": status = JobStatus.Completed; return true;
            default: status = default; return false;
        }
    }
}
