using Builtiful.Simulation.GitHub;

namespace Builtiful.Chaos;

/// <summary>One job a runner took, as the simulated GitHub recorded it.</summary>
public sealed record SimulatedJobRun(long JobId, long InstallationId, string RunnerName, DateTimeOffset StartedAt, DateTimeOffset? EndedAt, string? Conclusion);

/// <summary>The runs in GitHub's own record (the world's jobs that a runner started), in the shape the chaos checks read.</summary>
public sealed class SimulatedJobRuns(SimulatedGitHub world)
{
    public IReadOnlyList<SimulatedJobRun> Runs =>
    [
        .. world.Jobs.Where(j => j is { StartedAt: not null, RunnerName: not null })
            .Select(j => new SimulatedJobRun(j.Id, j.InstallationId, j.RunnerName!, j.StartedAt!.Value, j.CompletedAt, j.Conclusion)),
    ];
}
