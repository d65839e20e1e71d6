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

    public Task Register(string runnerName, string credential, IReadOnlyList<string> labels)
    {
        if (_runners.TryGetValue(runnerName, out var existing) && existing.JobId is not null)
        {
            throw new SimulatedCloudException($"runner name {runnerName} is taken by a runner that is running job {existing.JobId}");
        }

        _runners[runnerName] = new Registration(credential, new HashSet<string>(labels, StringComparer.OrdinalIgnoreCase));
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

    public Task RunnerFinished(string runnerName, string credential)
    {
        if (_runners.TryGetValue(runnerName, out var runner) && runner.Credential == credential)
        {
            _runners.Remove(runnerName);
        }

        return Task.CompletedTask;
    }

    public async Task<RunnerAssignment> TakeJob(string runnerName, string credential)
    {
        if (!_runners.TryGetValue(runnerName, out var runner) || runner.Credential != credential)
        {
            return new RunnerAssignment(RunnerAssignmentKind.Deregistered);
        }

        if (runner.Job is { } handed)
        {
            // The runner asks again after losing the answer: it gets the job it was handed.
            return new RunnerAssignment(RunnerAssignmentKind.Assigned, handed);
        }

        var pending = await GrainFactory.GetGrain<IOrganisationGrain>(this.GetPrimaryKeyLong()).GetPendingJobs();
        foreach (var candidate in pending)
        {
            // Re-check after the await: another runner may have been handed the job, or this one removed.
            if (runner.JobId is not null || !_runners.TryGetValue(runnerName, out var current) || current != runner)
            {
                break;
            }

            if (_assignedJobs.Contains(candidate.JobId) || !candidate.Labels.All(runner.Labels.Contains))
            {
                continue;
            }

            _assignedJobs.Add(candidate.JobId);
            runner.JobId = candidate.JobId;
            // GitHub knows its own jobs: what Builtiful's job grain says only fills in the payload's details, and a
            // job grain that cannot answer (its silo died, the database restarts) must not lose the hand-out.
            JobView? known;
            try
            {
                known = await GrainFactory.GetGrain<IJobGrain>(candidate.JobId).GetView();
            }
            catch (Exception ex) when (ex is not OutOfMemoryException)
            {
                known = null;
            }

            runner.Job = known ?? new JobView
            {
                Id = candidate.JobId,
                Status = JobStatus.Queued,
                InstallationId = this.GetPrimaryKeyLong(),
                Repository = candidate.Repository ?? "",
                Labels = candidate.Labels,
                QueuedAt = candidate.QueuedAt,
            };
            return new RunnerAssignment(RunnerAssignmentKind.Assigned, runner.Job);
        }

        return new RunnerAssignment(_runners.TryGetValue(runnerName, out var still) && still == runner ? RunnerAssignmentKind.NoJobYet : RunnerAssignmentKind.Deregistered);
    }

    private sealed class Registration(string credential, HashSet<string> labels)
    {
        public string Credential { get; } = credential;

        public HashSet<string> Labels { get; } = labels;

        public long? JobId { get; set; }

        public JobView? Job { get; set; }
    }
}
