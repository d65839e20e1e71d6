using Builtiful.Jobs;
using Builtiful.Leases;
using Microsoft.Extensions.Logging;

namespace Builtiful.Organisations;

/// <summary>The organisation's policy applied to what a runner actually took, not only to what was queued.</summary>
public sealed partial class OrganisationGrain
{
    /// <summary>
    /// A runner of ours reported running a job of a repository the policy refuses (the policy changed after the runner was
    /// registered, or GitHub gave the runner a job it should not have): the VM is destroyed at once, job or no job.
    /// </summary>
    private async Task EnforcePolicyOnRunnerAsync(Guid leaseId, long jobId)
    {
        if (Org.Leases.GetValueOrDefault(leaseId) is not { } slot)
        {
            return;
        }

        // The job is mid-call into this grain; its view is a read that interleaves, so asking it back cannot deadlock.
        var job = await GrainFactory.GetGrain<IJobGrain>(jobId).GetView();
        var repository = string.IsNullOrEmpty(job?.Repository) ? slot.RunnerRepository : job.Repository;
        var refusal = RepositoryRefusal(new RunnerRequest
        {
            JobId = jobId,
            MachineType = slot.MachineType,
            Labels = job?.Labels ?? [],
            QueuedAt = default,
            Repository = repository,

            // Without the job's own record the visibility is not known: only the allow-list is applied.
            Visibility = job?.Visibility ?? RepositoryVisibility.Private,
        });
        if (refusal is null)
        {
            return;
        }

        LogRefusedRunner(logger, InstallationId, leaseId, jobId, refusal.Reason);
        await GrainFactory.GetGrain<IVmLeaseGrain>(leaseId).Terminate(
            $"its runner took job {jobId} of repository {repository ?? "(none named)"}, which the organisation's policy refuses: {refusal.Reason}");
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Installation {InstallationId}: lease {LeaseId} runs job {JobId}, which the repository policy refuses ({Reason}); its VM is terminated")]
    private static partial void LogRefusedRunner(ILogger logger, long installationId, Guid leaseId, long jobId, string? reason);
}
