using Orleans.Concurrency;

using Builtiful.Jobs;
using Builtiful.Organisations;
using Builtiful.Providers;

namespace Builtiful.Simulation;

// Reentrant: the simulator is asked from inside lease, job and organisation turns and must never wait on them.
[Reentrant]
public sealed class SimulatedGitHubGrain : Grain, ISimulatedGitHubGrain
{
    private readonly Dictionary<string, Registration> _runners = new(StringComparer.Ordinal);
    private readonly HashSet<long> _assignedJobs = [];

    public Task Register(string runnerName, IReadOnlyList<string> labels)
    {
        _runners.TryAdd(runnerName, new Registration(new HashSet<string>(labels, StringComparer.OrdinalIgnoreCase)));
        return Task.CompletedTask;
    }

    public Task<RunnerRemoval> Deregister(string runnerName)
    {
        if (!_runners.TryGetValue(runnerName, out var runner))
        {
            return Task.FromResult(RunnerRemoval.NotFound);
        }

        if (runner.JobId is not null)
        {
            return Task.FromResult(RunnerRemoval.Busy);
        }

        _runners.Remove(runnerName);
        return Task.FromResult(RunnerRemoval.Removed);
    }

    public async Task<RunnerAssignment> TakeJob(string runnerName)
    {
        if (!_runners.TryGetValue(runnerName, out var runner))
        {
            return new RunnerAssignment(RunnerAssignmentKind.Deregistered);
        }

        var pending = await GrainFactory.GetGrain<IOrganisationGrain>(this.GetPrimaryKeyLong()).GetPendingJobs();
        foreach (var candidate in pending)
        {
            // Re-check after the await: another runner may have been handed the job, or this one removed.
            if (runner.JobId is not null || !_runners.ContainsKey(runnerName))
            {
                break;
            }

            if (_assignedJobs.Contains(candidate.JobId) || !candidate.Labels.All(runner.Labels.Contains))
            {
                continue;
            }

            _assignedJobs.Add(candidate.JobId);
            runner.JobId = candidate.JobId;
            var job = await GrainFactory.GetGrain<IJobGrain>(candidate.JobId).GetView();
            return new RunnerAssignment(RunnerAssignmentKind.Assigned, job);
        }

        return new RunnerAssignment(_runners.ContainsKey(runnerName) ? RunnerAssignmentKind.NoJobYet : RunnerAssignmentKind.Deregistered);
    }

    private sealed class Registration(HashSet<string> labels)
    {
        public HashSet<string> Labels { get; } = labels;

        public long? JobId { get; set; }
    }
}
