using Builtiful.Jobs;

namespace Builtiful.Organisations;

/// <summary>
/// Every admission decision of an organisation, without I/O or a clock: <see cref="Decide"/> turns the state and an event
/// into the changed state and the commands the grain runs once that state is written. A slot is written before its
/// lease is ordered and is freed only when its lease reports its VM gone (or never stored), so the stored slots never
/// under-count the VMs that can exist.
/// </summary>
public sealed partial class AdmissionMachine(long installationId, OrganisationOptions options, Func<Guid>? newLeaseId = null)
{
    private readonly Func<Guid> _newLeaseId = newLeaseId ?? Guid.NewGuid;

    public OrganisationLimits LimitsOf(OrganisationState state) => state.Limits ?? options.ToLimits();

    public AdmissionDecision Decide(OrganisationState state, AdmissionEvent @event, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(state);
        var turn = new Turn(state, now);
        switch (@event)
        {
            case JobQueued queued:
                turn.Reply = Queue(turn, queued.Request);
                break;
            case JobStarted started:
                Started(turn, started.JobId, started.LeaseId);
                break;
            case JobFinished finished:
                Finished(turn, finished.JobId);
                break;
            case LeasesGone gone:
                Gone(turn, gone.Leases);
                break;
            case LeaseUnknown unknown:
                Unknown(turn, unknown.LeaseId);
                break;
            case RunnerRunning running:
                Running(turn, running);
                break;
            case Tick:
                Ticked(turn);
                break;
            case VmsObserved observed:
                Observed(turn, observed.Vms);
                break;
            case CapacityCheck:
                AdmitWaiting(turn);
                break;
            case InstallationChanged installation:
                Installation(turn, installation.Change);
                break;
            case RepositoriesChanged repositories:
                Repositories(turn, repositories.Change);
                break;
            case LimitsSet or OperatorSuspended or OperatorResumed or PolicySet:
                Operate(turn, @event);
                break;
            default:
                throw new ArgumentOutOfRangeException(nameof(@event), @event, "not an admission event");
        }

        return new AdmissionDecision(state, turn.Commands, turn.Changed, turn.Reply, turn.Applied, turn.Deferred && !turn.Changed);
    }

    /// <summary>A job still queued at GitHub whose VM is not yet taken: the one stored slot that may be ordered again.</summary>
    public static bool IsAwaitingRunner(LeaseSlot slot)
    {
        ArgumentNullException.ThrowIfNull(slot);
        return slot.BoundJobId is null && slot.ForJob is not null;
    }

    /// <summary>
    /// Whether a new job would have to wait for capacity: before it is put in line, the grain asks the leases whether some
    /// ended unnoticed (their one-way notice lost with a silo).
    /// </summary>
    public bool WouldWait(OrganisationState state, RunnerRequest request)
    {
        ArgumentNullException.ThrowIfNull(state);
        ArgumentNullException.ThrowIfNull(request);
        return state.Status == OrganisationStatus.Active
            && Screen(state, request) is null
            && FindDuplicate(state, request.JobId) is null
            && state.Leases.Count >= LimitsOf(state).MaxConcurrentVms;
    }

    private Admission Queue(Turn turn, RunnerRequest request)
    {
        var org = turn.State;
        if (org.Status == OrganisationStatus.Unknown)
        {
            return Park(turn, request);
        }

        if (Screen(org, request) is { } refused)
        {
            return refused;
        }

        if (FindDuplicate(org, request.JobId) is { } duplicate)
        {
            if (duplicate.LeaseId is { } leaseId && org.Leases[leaseId] is { ForJob: { } pending, BoundJobId: null } slot && pending.JobId == request.JobId)
            {
                // A redelivery after a failure may find the slot but a lease that was never created, never armed, or launched
                // and never stored: ordered again as a repair.
                turn.Commands.Add(new OrderLease(leaseId, slot.MachineType, pending, Repair: true));
            }

            return duplicate;
        }

        var waiting = new WaitingJob
        {
            JobId = request.JobId, MachineType = request.MachineType, Labels = request.Labels, QueuedAt = request.QueuedAt,
            Repository = request.Repository,
        };
        if (org.Leases.Count < LimitsOf(org).MaxConcurrentVms)
        {
            return new Admission(AdmissionKind.Started, LeaseId: StartLease(turn, waiting));
        }

        // The index is fetched before each change it follows: fetched after, its counts would disagree and it would rebuild.
        var index = AdmissionIndex.Of(org);
        org.WaitingLine.Add(waiting);
        index.Lined(waiting.JobId);
        turn.Changed = true;
        turn.Commands.Add(new Drive());
        return new Admission(AdmissionKind.Waiting, Position: org.WaitingLine.Count);
    }

    /// <summary>The installation's status, the operator's hold, the machine type and the repository policy; null: all allow the job.</summary>
    private Admission? Screen(OrganisationState org, RunnerRequest request)
    {
        if (org.Status != OrganisationStatus.Active)
        {
            return org.Status switch
            {
                OrganisationStatus.Suspended => Refuse(RejectionCode.SuspendedInstallation, $"installation {installationId} is suspended"),
                _ => Refuse(RejectionCode.DeletedInstallation, $"installation {installationId} was deleted"),
            };
        }

        if (org.OperatorSuspension is { } suspension)
        {
            return Refuse(RejectionCode.OperatorSuspended, $"installation {installationId} is suspended by an operator: {suspension.Reason}");
        }

        var limits = LimitsOf(org);
        if (limits.AllowedMachineTypes.Count > 0
            && !limits.AllowedMachineTypes.Contains(request.MachineType.Label, StringComparer.OrdinalIgnoreCase))
        {
            return Refuse(RejectionCode.MachineTypeNotAllowed, $"machine type {request.MachineType.Label} is not allowed for installation {installationId}");
        }

        return RepositoryRefusal(org, request);
    }

    /// <summary>By index, not by scanning: only a redelivery of a waiting job looks for its place in line.</summary>
    private static Admission? FindDuplicate(OrganisationState org, long jobId)
    {
        var index = AdmissionIndex.Of(org);
        if (index.IsWaiting(jobId))
        {
            return new Admission(AdmissionKind.Duplicate, Position: org.WaitingLine.FindIndex(w => w.JobId == jobId) + 1);
        }

        return index.LeaseOf(jobId) is { } held ? new Admission(AdmissionKind.Duplicate, LeaseId: held.Id) : null;
    }

    /// <summary>The allow-list first (it names the repository), then the public-repository opt-in; null when both allow the job.</summary>
    private Admission? RepositoryRefusal(OrganisationState org, RunnerRequest request)
    {
        var policy = org.RepositoryPolicy ?? new RepositoryPolicy();
        if (!policy.Allows(request.Repository))
        {
            return Refuse(RejectionCode.RepositoryNotAllowed,
                $"repository {(string.IsNullOrEmpty(request.Repository) ? "(none named)" : request.Repository)} is not on the repository allow-list of installation {installationId}");
        }

        if (request.Visibility.NeedsPublicOptIn() && !policy.AllowPublicRepositories)
        {
            return Refuse(RejectionCode.PublicRepository, request.Visibility == RepositoryVisibility.Unknown
                ? $"the delivery does not say whether repository {request.Repository} is private, so it is treated as public; installation {installationId} has not opted in to public repositories"
                : $"repository {request.Repository} is public and installation {installationId} has not opted in to public repositories (pull requests from forks could run untrusted code)");
        }

        return null;
    }

    private static Admission Refuse(RejectionCode code, string reason) => new(AdmissionKind.Refused, Reason: reason, Code: code);

    /// <summary>Stored before the lease exists, so a crash in between can over-count for a moment but never over-launch.</summary>
    private Guid StartLease(Turn turn, WaitingJob job)
    {
        var leaseId = _newLeaseId();
        var slot = new LeaseSlot
        {
            MachineType = job.MachineType, ForJob = job.ToPending(), RunnerLabels = [.. job.Labels], RunnerRepository = job.Repository,
            OrderedAt = turn.Now,
        };
        var index = AdmissionIndex.Of(turn.State);
        turn.State.Leases[leaseId] = slot;
        index.Slotted(leaseId, slot);
        turn.Changed = true;
        turn.Commands.Add(new OrderLease(leaseId, job.MachineType, job.ToPending()));
        return leaseId;
    }

    /// <summary>Starts waiting jobs, oldest first, while the organisation is active and under its VM limit.</summary>
    private void AdmitWaiting(Turn turn)
    {
        var org = turn.State;
        while (org.Status == OrganisationStatus.Active && org.OperatorSuspension is null && org.WaitingLine.Count > 0
            && org.Leases.Count < LimitsOf(org).MaxConcurrentVms)
        {
            var next = org.WaitingLine[0];
            var index = AdmissionIndex.Of(org);
            org.WaitingLine.RemoveAt(0);
            index.Unlined(next.JobId);
            StartLease(turn, next);
        }
    }

    /// <summary>One decision's working set: the state it changes and the commands it orders.</summary>
    private sealed class Turn(OrganisationState state, DateTimeOffset now)
    {
        public OrganisationState State { get; } = state;
        public DateTimeOffset Now { get; } = now;
        public List<AdmissionCommand> Commands { get; } = [];
        public bool Changed { get; set; }

        /// <summary>Changed, but no crash point: written with the next change (<see cref="AdmissionDecision.Deferred"/>).</summary>
        public bool Deferred { get; set; }
        public bool Applied { get; set; } = true;
        public Admission? Reply { get; set; }
    }
}
