namespace Builtiful.Jobs;

/// <summary>GitHub's job status, ordered: a job only ever moves to a later value.</summary>
public enum JobStatus
{
    Queued = 0,
    Waiting = 1,
    InProgress = 2,
    Completed = 3,
}

public static class JobStatusNames
{
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
