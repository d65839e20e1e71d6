using Builtiful.Jobs;
using Builtiful.Providers;

namespace Builtiful.Organisations;

/// <summary>What runners and leases report: a job started or finished, a VM gone, a lease never stored, a VM seen vanished.</summary>
public sealed partial class AdmissionMachine
{
    private void Started(Turn turn, long jobId, Guid? leaseId)
    {
        var org = turn.State;
        turn.Changed |= ForgetQueued(org, jobId);
        var own = FindLeaseFor(org, jobId);
        var index = AdmissionIndex.Of(org);
        (Guid Id, LeaseSlot Slot)? surplus = null;
        if (leaseId is { } id && org.Leases.TryGetValue(id, out var slot))
        {
            if (slot.BoundJobId == jobId)
            {
                turn.Commands.Add(new CheckRunnerPolicy(id, jobId));
                return;
            }

            // The runner took this job; the job the VM was launched for inherits this job's own VM if that VM's runner
            // can take it (GitHub gives a runner only its repository's jobs whose labels it has); otherwise that VM is surplus.
            var orphan = slot.ForJob is { } meantFor && meantFor.JobId != jobId ? meantFor : null;
            var launchedForIt = slot.ForJob?.JobId == jobId;
            slot.BoundJobId = jobId;
            slot.ForJob = null;
            ReleaseOvertaken(slot);
            org.Leases.Touch(id);
            index.Slotted(id, slot);
            if (own is { } mine && mine.Id != id)
            {
                var inherits = orphan is not null && mine.Slot.CanTake(orphan.MachineType, orphan.Labels, orphan.Repository);
                mine.Slot.ForJob = inherits ? orphan : null;
                org.Leases.Touch(mine.Id);
                index.Slotted(mine.Id, mine.Slot);
                orphan = inherits ? null : orphan;
                surplus = inherits ? null : mine;
            }

            if (orphan is not null)
            {
                // The orphaned job had only this VM: it goes back to the head of the line for a new one.
                org.WaitingLine.Insert(0, new WaitingJob
                {
                    JobId = orphan.JobId, MachineType = slot.MachineType, Labels = orphan.Labels, QueuedAt = orphan.QueuedAt,
                    Repository = orphan.Repository, Attempts = orphan.Attempts - 1,
                });
                index.Lined(orphan.JobId);
            }

            if (launchedForIt && own?.Id == id)
            {
                // The runner took the job its VM was launched for: no crash point. Lost with the silo, the slot reads
                // "launched for this job" again; the job's end (Finished) frees it as it frees a slot whose runner took
                // another job, and the lease's end that comes first sends the job back to the line, where Finished
                // takes it out again: at worst a VM for nothing, never a job without one. The next write stores it.
                turn.Deferred = true;
            }
            else
            {
                turn.Changed = true;
            }

            turn.Commands.Add(new CheckRunnerPolicy(id, jobId));
        }
        else if (own is { } mine)
        {
            // Started on a runner that is not one of ours: the VM launched for it has no job left.
            mine.Slot.ForJob = null;
            org.Leases.Touch(mine.Id);
            index.Slotted(mine.Id, mine.Slot);
            surplus = mine;
            turn.Changed = true;
        }

        ReleaseSurplus(turn, surplus);
        AdmitWaiting(turn);
    }

    private void Finished(Turn turn, long jobId)
    {
        var org = turn.State;
        turn.Changed |= ForgetQueued(org, jobId);
        (Guid Id, LeaseSlot Slot)? surplus = null;
        if (FindLeaseFor(org, jobId) is { } own)
        {
            own.Slot.ForJob = null;
            org.Leases.Touch(own.Id);
            AdmissionIndex.Of(org).Slotted(own.Id, own.Slot);
            surplus = own;
            turn.Changed = true;
        }

        ReleaseSurplus(turn, surplus);
        AdmitWaiting(turn);
    }

    /// <summary>
    /// A VM no queued job is waiting for any more serves the oldest waiting job its runner can take (same repository, the
    /// job's labels among the runner's), or is released. Only the slot this event freed is looked at.
    /// </summary>
    private static void ReleaseSurplus(Turn turn, (Guid Id, LeaseSlot Slot)? surplus)
    {
        if (surplus is not ({ } leaseId, { BoundJobId: null, ForJob: null } slot))
        {
            return;
        }

        var org = turn.State;
        var heir = org.WaitingLine.FindIndex(w => slot.CanTake(w.MachineType.Label, w.Labels, w.Repository));
        if (heir >= 0)
        {
            var index = AdmissionIndex.Of(org);
            slot.ForJob = org.WaitingLine[heir].ToPending();
            org.WaitingLine.RemoveAt(heir);
            index.Unlined(slot.ForJob.JobId);
            org.Leases.Touch(leaseId);
            index.Slotted(leaseId, slot);
            turn.Changed = true;
            return;
        }

        SendRelease(turn, leaseId, "no queued job needs this VM any more", surplus: true);
    }

    /// <summary>Frees ended leases' slots; a job still waiting for such a VM gets another, a bounded number of times.</summary>
    private void Gone(Turn turn, IReadOnlyList<GoneLease> ended)
    {
        var org = turn.State;
        var index = AdmissionIndex.Of(org);
        foreach (var (leaseId, lease) in ended)
        {
            if (!org.Leases.Remove(leaseId, out var slot))
            {
                continue;
            }

            index.Unslotted(leaseId);
            turn.Changed = true;
            if (slot.ForJob is not { } pending || slot.BoundJobId is not null || org.Status != OrganisationStatus.Active)
            {
                continue;
            }

            // The job is still queued at GitHub and its VM is gone: start another, a bounded number of times, unless the
            // launch was refused for good (a refusal would only repeat; capacity errors pass).
            if (pending.Attempts < options.ProvisionAttempts && lease is not { Refused: true })
            {
                org.WaitingLine.Insert(0, new WaitingJob
                {
                    JobId = pending.JobId, MachineType = slot.MachineType, Labels = pending.Labels, QueuedAt = pending.QueuedAt,
                    Repository = pending.Repository, Attempts = pending.Attempts,
                });
                index.Lined(pending.JobId);
            }
            else
            {
                turn.Commands.Add(new FailProvisioning(pending.JobId,
                    $"failed to provision: {pending.Attempts} VMs ended before a runner took the job; the last ended because {lease?.EndReason ?? "the lease is unknown"}"));
            }
        }

        if (turn.Changed)
        {
            AdmitWaiting(turn);
        }
    }

    /// <summary>A job still waiting for the unstored lease gets it ordered again; a slot no job needs any more is freed.</summary>
    private void Unknown(Turn turn, Guid leaseId)
    {
        if (!turn.State.Leases.TryGetValue(leaseId, out var slot))
        {
            return;
        }

        if (IsAwaitingRunner(slot))
        {
            turn.Commands.Add(new OrderLease(leaseId, slot.MachineType, slot.ForJob!, Repair: true));
            return;
        }

        var index = AdmissionIndex.Of(turn.State);
        turn.State.Leases.Remove(leaseId);
        index.Unslotted(leaseId);
        turn.Changed = true;
        AdmitWaiting(turn);
    }

    /// <summary>
    /// A runner of ours runs a job of a repository the policy refuses (the policy changed after the runner was registered,
    /// or GitHub gave the runner a job it should not have): the VM is destroyed at once, job or no job.
    /// </summary>
    private void Running(Turn turn, RunnerRunning running)
    {
        if (turn.State.Leases.GetValueOrDefault(running.LeaseId) is not { } slot)
        {
            return;
        }

        var job = running.Job;
        var repository = string.IsNullOrEmpty(job?.Repository) ? slot.RunnerRepository : job.Repository;
        var refusal = RepositoryRefusal(turn.State, new RunnerRequest
        {
            JobId = running.JobId,
            MachineType = slot.MachineType,
            Labels = job?.Labels ?? [],
            QueuedAt = default,
            Repository = repository,

            // Without the job's own record the visibility is not known: only the allow-list is applied.
            Visibility = job?.Visibility ?? RepositoryVisibility.Private,
        });
        if (refusal is not null)
        {
            SendTermination(turn, running.LeaseId,
                $"its runner took job {running.JobId} of repository {repository ?? "(none named)"}, which the organisation's policy refuses: {refusal.Reason}");
        }
    }

    /// <summary>A VM the provider reports terminated or does not know ends its lease (which frees the slot when it reports back).</summary>
    private static void Observed(Turn turn, IReadOnlyList<ObservedVm> vms)
    {
        foreach (var vm in vms)
        {
            if (vm.State is InstanceState.Terminated or InstanceState.NotFound && turn.State.Leases.ContainsKey(vm.LeaseId))
            {
                turn.Commands.Add(new ReportVmGone(vm.LeaseId, vm.InstanceId, vm.State));
            }
        }
    }

    private static (Guid Id, LeaseSlot Slot)? FindLeaseFor(OrganisationState org, long jobId) =>
        AdmissionIndex.Of(org).LeaseOf(jobId) is { Slot: { BoundJobId: null } slot } held && slot.ForJob?.JobId == jobId ? held : null;

    /// <summary>The job left GitHub's queue (started or finished): it no longer waits in either line.</summary>
    private static bool ForgetQueued(OrganisationState org, long jobId)
    {
        var index = AdmissionIndex.Of(org);
        var waited = index.IsWaiting(jobId) && org.WaitingLine.RemoveAll(w => w.JobId == jobId) > 0;
        index.Unlined(jobId);
        return (org.ParkedLine.Count > 0 && org.ParkedLine.RemoveAll(p => p.Request.JobId == jobId) > 0) | waited;
    }
}
