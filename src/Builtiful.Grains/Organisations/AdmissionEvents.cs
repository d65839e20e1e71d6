using Builtiful.Jobs;
using Builtiful.Leases;
using Builtiful.Machines;
using Builtiful.Providers;

namespace Builtiful.Organisations;

/// <summary>Something the organisation learnt: a delivery, a lease's report, an operator's change, or its own tick.</summary>
public abstract record AdmissionEvent;

/// <summary>A queued job asks for a VM (a parked job is admitted through the same decision).</summary>
public sealed record JobQueued(RunnerRequest Request) : AdmissionEvent;

/// <summary><c>in_progress</c>: the job started, on one of our leases or (null) on a runner that is not ours.</summary>
public sealed record JobStarted(long JobId, Guid? LeaseId) : AdmissionEvent;

/// <summary><c>completed</c> (or cancelled): the job left GitHub's queue for good.</summary>
public sealed record JobFinished(long JobId) : AdmissionEvent;

/// <summary>Leases whose VM is confirmed gone or never launched; <see cref="GoneLease.Lease"/> null: the lease is unknown.</summary>
public sealed record LeasesGone(IReadOnlyList<GoneLease> Leases) : AdmissionEvent;

public sealed record GoneLease(Guid LeaseId, LeaseView? Lease);

/// <summary>A lease that was never stored (its request failed after its slot was written).</summary>
public sealed record LeaseUnknown(Guid LeaseId) : AdmissionEvent;

/// <summary>What a runner of ours runs, with the job's own record (null when it has none): the policy applies to it.</summary>
public sealed record RunnerRunning(Guid LeaseId, long JobId, JobView? Job) : AdmissionEvent;

/// <summary>The organisation's reminder ticked.</summary>
public sealed record Tick : AdmissionEvent;

/// <summary>The batched describe of the VMs of Idle or Busy leases.</summary>
public sealed record VmsObserved(IReadOnlyList<ObservedVm> Vms) : AdmissionEvent;

public sealed record ObservedVm(Guid LeaseId, string InstanceId, InstanceState State);

/// <summary>Capacity may have freed up (the reconciler's sweep): waiting jobs are admitted while there is room.</summary>
public sealed record CapacityCheck : AdmissionEvent;

public sealed record InstallationChanged(InstallationChange Change) : AdmissionEvent;

public sealed record RepositoriesChanged(RepositoriesChange Change) : AdmissionEvent;

public sealed record LimitsSet(OrganisationLimits Limits) : AdmissionEvent;

public sealed record OperatorSuspended(string Reason) : AdmissionEvent;

public sealed record OperatorResumed : AdmissionEvent;

public sealed record PolicySet(RepositoryPolicy Policy) : AdmissionEvent;

/// <summary>What the grain does after the decision's state is written, in order.</summary>
public abstract record AdmissionCommand;

/// <summary>Requests the lease (again, when <paramref name="Repair"/>); its slot is already stored.</summary>
public sealed record OrderLease(Guid LeaseId, MachineType MachineType, PendingJob Job, bool Repair = false) : AdmissionCommand;

/// <summary>
/// Releases a VM no job needs (a surplus VM, or an unbound one of a suspended installation), sent one way: the slot is
/// marked first and freed when the lease reports its end. <paramref name="Resend"/>: the tick repeats an overdue order.
/// </summary>
public sealed record ReleaseLease(Guid LeaseId, string Reason, bool Surplus = false, bool Resend = false) : AdmissionCommand;

/// <summary>Destroys a VM whatever it does, sent one way like <see cref="ReleaseLease"/>.</summary>
public sealed record TerminateLease(Guid LeaseId, string Reason, bool Resend = false) : AdmissionCommand;

/// <summary>The job gets no VM (expired, unknown installation, a parked job refused once its installation is known).</summary>
public sealed record RefuseJob(long JobId, RejectionCode Code, string Reason) : AdmissionCommand;

/// <summary>The job's VMs kept ending before a runner took it.</summary>
public sealed record FailProvisioning(long JobId, string Reason) : AdmissionCommand;

/// <summary>Reads the job a runner of ours took and applies the repository policy to it (<see cref="RunnerRunning"/>).</summary>
public sealed record CheckRunnerPolicy(Guid LeaseId, long JobId) : AdmissionCommand;

public sealed record ReportVmGone(Guid LeaseId, string InstanceId, InstanceState Observed) : AdmissionCommand;

/// <summary>The directory's entry (login, status, operator hold) changed.</summary>
public sealed record UpdateDirectory : AdmissionCommand;

/// <summary>The reminder must be registered: something is kept that a tick must look at.</summary>
public sealed record Drive : AdmissionCommand;

/// <summary>Nothing is left to drive: the reminder is removed (after the state write).</summary>
public sealed record StopDriving : AdmissionCommand;

/// <summary>The tick's lease checks and batched VM look run.</summary>
public sealed record CheckLeases : AdmissionCommand;

/// <summary>
/// The new state (the same record, changed in place: storage stays as it is), whether it must be written, the commands to
/// run after the write, the answer to a queued job, and whether the event applied at all (an operator's change to an
/// organisation never seen does not). <paramref name="Deferred"/>: changed, but no crash point; the changed pages stay
/// marked and the next write stores them.
/// </summary>
public sealed record AdmissionDecision(
    OrganisationState State,
    IReadOnlyList<AdmissionCommand> Commands,
    bool Changed,
    Admission? Reply = null,
    bool Applied = true,
    bool Deferred = false);
