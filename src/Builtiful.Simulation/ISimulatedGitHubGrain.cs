using Builtiful.Providers;

namespace Builtiful.Simulation;

/// <summary>
/// GitHub's side of one installation in the simulation: the runners registered with it and which queued
/// job each was handed. Keyed by installation id; kept in memory only, like GitHub's own queue is not ours.
/// </summary>
[Alias("builtiful.simulated-github")]
public interface ISimulatedGitHubGrain : IGrainWithIntegerKey
{
    /// <summary>
    /// Registers a runner under a fresh credential. Registering a name again replaces an idle registration, so the
    /// VM holding the old credential can take no job, as GitHub's 409-then-replace does; a busy one is refused.
    /// </summary>
    [Alias("register")]
    Task Register(string runnerName, string credential, IReadOnlyList<string> labels);

    [Alias("deregister")]
    Task<RunnerRemoval> Deregister(string runnerName);

    /// <summary>A just-in-time runner exits after its one job and GitHub drops its registration.</summary>
    [Alias("runner-finished")]
    Task RunnerFinished(string runnerName, string credential);

    /// <summary>Hands the runner the oldest queued job whose labels it carries; null when there is none yet.</summary>
    [Alias("take-job")]
    Task<RunnerAssignment> TakeJob(string runnerName, string credential);
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
