using System.Collections.Concurrent;

namespace Builtiful.Simulation;

/// <summary>
/// The simulation's ground truth of what ran: every job a simulated runner took, on which runner, from when to when.
/// What GitHub would know about its own jobs, kept so a chaos run can check billing against what really happened.
/// </summary>
public sealed class SimulatedJobRuns
{
    private readonly ConcurrentQueue<SimulatedJobRun> _runs = new();

    public IReadOnlyList<SimulatedJobRun> Runs => [.. _runs];

    public SimulatedJobRun Started(long jobId, long installationId, string runnerName, DateTimeOffset startedAt)
    {
        var run = new SimulatedJobRun(jobId, installationId, runnerName, startedAt);
        _runs.Enqueue(run);
        return run;
    }
}

/// <summary>One job on one runner; <see cref="EndedAt"/> stays null while it runs.</summary>
public sealed class SimulatedJobRun(long jobId, long installationId, string runnerName, DateTimeOffset startedAt)
{
    public long JobId { get; } = jobId;

    public long InstallationId { get; } = installationId;

    public string RunnerName { get; } = runnerName;

    public DateTimeOffset StartedAt { get; } = startedAt;

    public DateTimeOffset? EndedAt { get; private set; }

    public string? Conclusion { get; private set; }

    public void Ended(DateTimeOffset at, string conclusion)
    {
        EndedAt ??= at;
        Conclusion ??= conclusion;
    }
}
