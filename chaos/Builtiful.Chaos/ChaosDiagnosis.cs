using Builtiful.Jobs;
using Builtiful.Leases;
using Builtiful.Organisations;
using Builtiful.Providers;
using Builtiful.Simulation;
using Builtiful.Simulation.GitHub;

namespace Builtiful.Chaos;

/// <summary>
/// Explains a stranded job or a leaked VM: GitHub's record of the job and its deliveries, the cloud's VMs, and what
/// Builtiful believes (its job, its leases, its organisation's slots and line). Explanation only: the verdict is the judge's.
/// </summary>
internal sealed class ChaosDiagnosis(IGrainFactory grains, ChaosWorld world)
{
    public async Task<List<string>> DescribeJobAsync(JobRecord job)
    {
        var lines = new List<string>
        {
            $"job {job.Id} ({job.Repository}, installation {job.InstallationId}) at GitHub: {job.Status} cause={job.Cause} runner={job.RunnerName ?? "none"} "
            + $"created={job.CreatedAt:HH:mm:ss.fff} queued={job.QueuedAt:HH:mm:ss.fff} started={job.StartedAt:HH:mm:ss.fff} completed={job.CompletedAt:HH:mm:ss.fff} approved={job.Approved}",
        };
        foreach (var delivery in world.GitHub.Deliveries.Where(d => d.JobId == job.Id))
        {
            lines.Add($"  delivery {delivery.Id} {delivery.Event}.{delivery.Action} {delivery.StatusCode} at {delivery.DeliveredAt:HH:mm:ss.fff}{(delivery.Redelivery ? " (redelivery)" : "")}");
        }

        try
        {
            var view = await grains.GetGrain<IJobGrain>(job.Id).GetView();
            lines.Add(view is null
                ? "  Builtiful never saw it"
                : $"  Builtiful: {view.Status.ToWire()} lease={view.LeaseId?.ToString("N") ?? "none"} rejected={view.RejectionReason ?? "no"}");
            foreach (var vm in world.Cloud.Vms.Where(vm => vm.Tags.TryGetValue(InstanceTags.Job, out var j) && j == job.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)))
            {
                lines.Add("  " + Describe(vm));
                lines.Add("    " + await DescribeLeaseAsync(vm.LeaseId));
            }

            lines.Add(await DescribeOrganisationAsync(job.InstallationId));
        }
        catch (Exception ex) when (ex is OrleansException or TimeoutException)
        {
            lines.Add($"  Builtiful could not be asked: {ex.Message}");
        }

        return lines;
    }

    public async Task<List<string>> DescribeVmAsync(SimulatedVm vm)
    {
        var lines = new List<string> { Describe(vm) };
        try
        {
            lines.Add("  " + await DescribeLeaseAsync(vm.LeaseId));
        }
        catch (Exception ex) when (ex is OrleansException or TimeoutException)
        {
            lines.Add($"  Builtiful could not be asked: {ex.Message}");
        }

        return lines;
    }

    private static string Describe(SimulatedVm vm) =>
        $"vm {vm.InstanceId} of lease {vm.LeaseId:N}: {vm.State} launched={vm.LaunchedAt:HH:mm:ss.fff} expires={vm.ExpiresAt:HH:mm:ss.fff} terminated={vm.TerminatedAt:HH:mm:ss.fff}";

    private async Task<string> DescribeLeaseAsync(Guid leaseId) =>
        await grains.GetGrain<IVmLeaseGrain>(leaseId).GetView() is { } lease
            ? $"lease {lease.Id:N}: {lease.Phase.ToWire()} for-job={lease.LaunchedForJobId} bound-job={lease.JobId?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "none"} "
              + $"launches={lease.LaunchAttempts} terminations={lease.TerminationAttempts} end={lease.EndReason ?? "none"} error={lease.LastError ?? "none"}"
            : $"lease {leaseId:N} is unknown to Builtiful";

    private async Task<string> DescribeOrganisationAsync(long installationId)
    {
        var organisation = await grains.GetGrain<IOrganisationGrain>(installationId).GetView();
        return $"  organisation {installationId}: {organisation.Status} {organisation.LiveLeases} slots, {organisation.WaitingJobs} waiting";
    }
}
