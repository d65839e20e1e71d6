using Builtiful.Jobs;
using Builtiful.Leases;
using Builtiful.Organisations;
using Builtiful.Providers;
using Builtiful.Simulation;

namespace Builtiful.Chaos;

/// <summary>
/// Explains a stranded job or a leaked VM from everything that knows about it: the job grain, every lease launched
/// for it or bound to it, the organisation's slots and line, and the simulator's record of which runner ran it.
/// </summary>
internal sealed class ChaosDiagnosis(IGrainFactory grains, IReadOnlyList<IGrainFactory> everySilo, SimulatedComputeProvider cloud, SimulatedJobRuns runs)
{
    private Dictionary<Guid, LeaseView>? _leases;

    public async Task<List<string>> DescribeJobAsync(long jobId, long installationId)
    {
        var leases = await LeasesAsync(installationId);
        var view = await grains.GetGrain<IJobGrain>(jobId).GetView();
        var lines = new List<string>
        {
            $"job {jobId} (installation {installationId}): " + (view is null
                ? "never seen"
                : $"{view.Status.ToWire()} lease={view.LeaseId?.ToString("N") ?? "none"} started={view.StartedAt:HH:mm:ss.fff} completed={view.CompletedAt:HH:mm:ss.fff} conclusion={view.Conclusion ?? "none"} rejected={view.RejectionReason ?? "no"}"),
        };

        for (var silo = 0; silo < everySilo.Count; silo++)
        {
            var seen = await everySilo[silo].GetGrain<IJobGrain>(jobId).GetView();
            if (seen?.Status != view?.Status)
            {
                lines.Add($"  silo {silo} sees it {seen?.Status.ToWire() ?? "never seen"}: a duplicate activation");
            }
        }

        foreach (var lease in leases.Values.Where(l => l.LaunchedForJobId == jobId || l.JobId == jobId).OrderBy(l => l.RequestedAt))
        {
            lines.Add("  " + Describe(lease));
        }

        foreach (var run in runs.Runs.Where(r => r.JobId == jobId))
        {
            lines.Add($"  ran on {run.RunnerName} {run.StartedAt:HH:mm:ss.fff}..{run.EndedAt:HH:mm:ss.fff} ({run.Conclusion ?? "running"})");
        }

        lines.AddRange(await DescribeOrganisationAsync(installationId, jobId));
        return lines;
    }

    public async Task<List<string>> DescribeVmAsync(SimulatedVm vm)
    {
        var lease = await grains.GetGrain<IVmLeaseGrain>(vm.LeaseId).GetView();
        var lines = new List<string>
        {
            $"vm {vm.InstanceId}: {vm.State} launched={vm.LaunchedAt:HH:mm:ss.fff} expires={vm.ExpiresAt:HH:mm:ss.fff} terminated={vm.TerminatedAt:HH:mm:ss.fff}",
            "  " + (lease is null ? $"lease {vm.LeaseId:N} does not exist" : Describe(lease)),
        };
        if (lease is not null)
        {
            lines.AddRange(await DescribeOrganisationAsync(lease.InstallationId, lease.JobId ?? lease.LaunchedForJobId));
        }

        return lines;
    }

    private static string Describe(LeaseView lease) =>
        $"lease {lease.Id:N}: {lease.Phase.ToWire()} for-job={lease.LaunchedForJobId} bound-job={lease.JobId?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "none"} instance={lease.InstanceId ?? "none"} "
        + $"requested={lease.RequestedAt:HH:mm:ss.fff} launched={lease.LaunchedAt:HH:mm:ss.fff} ended={lease.TerminatedAt:HH:mm:ss.fff} launches={lease.LaunchAttempts} terminations={lease.TerminationAttempts} "
        + $"end={lease.EndReason ?? "none"} error={lease.LastError ?? "none"}";

    private async Task<List<string>> DescribeOrganisationAsync(long installationId, long jobId)
    {
        var organisation = await grains.GetGrain<IOrganisationGrain>(installationId).GetView();
        var pending = await grains.GetGrain<IOrganisationGrain>(installationId).GetPendingJobs();
        var lines = new List<string>
        {
            $"  organisation {installationId}: {organisation.LiveLeases} slots, {organisation.WaitingJobs} waiting; job {jobId} "
            + (pending.FirstOrDefault(p => p.JobId == jobId) is { } p ? $"pending (attempt {p.Attempts})" : "not pending")
            + (organisation.WaitingJobIds.Contains(jobId) ? ", in the waiting line" : ""),
        };
        foreach (var leaseId in organisation.LeaseIds)
        {
            var lease = await grains.GetGrain<IVmLeaseGrain>(leaseId).GetView();
            lines.Add($"    slot {leaseId:N}: " + (lease is null ? "no such lease" : $"{lease.Phase.ToWire()} for-job={lease.LaunchedForJobId} bound-job={lease.JobId}"));
        }

        return lines;
    }

    /// <summary>Every lease the run can find: those with a VM in the cloud, those in an organisation's slots, and recently ended ones.</summary>
    private async Task<Dictionary<Guid, LeaseView>> LeasesAsync(long installationId)
    {
        if (_leases is null)
        {
            var ids = new HashSet<Guid>(cloud.Vms.Select(vm => vm.LeaseId).Concat(cloud.LeasesAsked));
            foreach (var ended in await grains.GetGrain<ILeaseHistoryGrain>(ILeaseHistoryGrain.Key).Recent())
            {
                ids.Add(ended.LeaseId);
            }

            _leases = [];
            foreach (var id in ids)
            {
                if (await grains.GetGrain<IVmLeaseGrain>(id).GetView() is { } lease)
                {
                    _leases[id] = lease;
                }
            }
        }

        foreach (var id in (await grains.GetGrain<IOrganisationGrain>(installationId).GetView()).LeaseIds)
        {
            if (!_leases.ContainsKey(id) && await grains.GetGrain<IVmLeaseGrain>(id).GetView() is { } lease)
            {
                _leases[id] = lease;
            }
        }

        return _leases;
    }
}
