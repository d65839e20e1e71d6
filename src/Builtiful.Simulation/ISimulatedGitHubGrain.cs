using Builtiful.Providers;

namespace Builtiful.Simulation;

/// <summary>
/// GitHub's side of one installation in the simulation: the runners registered with it and which queued
/// job each was handed. Keyed by installation id; kept in memory only, like GitHub's own queue is not ours.
/// </summary>
[Alias("builtiful.simulated-github")]
public interface ISimulatedGitHubGrain : IGrainWithIntegerKey
{
    [Alias("register")]
    Task Register(string runnerName, IReadOnlyList<string> labels);

    [Alias("deregister")]
    Task<RunnerRemoval> Deregister(string runnerName);

    /// <summary>Hands the runner the oldest queued job whose labels it carries; null when there is none yet.</summary>
    [Alias("take-job")]
    Task<RunnerAssignment> TakeJob(string runnerName);
}

[GenerateSerializer, Immutable, Alias("builtiful.runner-assignment")]
public sealed record RunnerAssignment(
    [property: Id(0)] RunnerAssignmentKind Kind,
    [property: Id(1)] Builtiful.Jobs.JobView? Job = null);

public enum RunnerAssignmentKind
{
    Assigned = 0,
    NoJobYet = 1,
    /// <summary>The runner was deregistered: it stops asking.</summary>
    Deregistered = 2,
}
