namespace Builtiful.Leases;

/// <summary>I/O the lease's machine asks of its grain, executed in order after the new state is written.</summary>
public abstract record LeaseCommand;

/// <summary>Adds the lease to its installation's retention hour before its order is stored, so retention always finds it.</summary>
public sealed record JoinRetention(long InstallationId, DateTimeOffset At, LeaseOrder Order) : LeaseCommand;

/// <summary>Arms the one-shot launch timer.</summary>
public sealed record ScheduleLaunch(TimeSpan Delay) : LeaseCommand;

public sealed record CancelLaunch : LeaseCommand;

/// <summary>
/// Launches the VM with the attempt's idempotency token and claim token (no runner config: the VM claims it after boot);
/// first adopts a VM an earlier attempt made when <paramref name="LookForEarlier"/>.
/// </summary>
public sealed record LaunchVm(int Attempt, bool LookForEarlier) : LeaseCommand;

/// <summary>Asks the machine type's warm pool for an idle VM before the first launch; a miss launches as ever.</summary>
public sealed record TakeFromPool(int Attempt) : LeaseCommand;

/// <summary>Mints the runner's just-in-time config for a granted claim; the config goes back to the claiming VM only.</summary>
public sealed record MintRunnerConfig : LeaseCommand;

/// <summary>Terminates every other VM tagged with the lease: an earlier attempt whose answer was lost may have made one.</summary>
public sealed record TerminateStrays(string Keep) : LeaseCommand;

/// <summary>Reads the booting VM's state.</summary>
public sealed record DescribeVm(string InstanceId) : LeaseCommand;

/// <summary>Deregisters the lease's runner at GitHub.</summary>
public sealed record RemoveRunner(string Reason, RunnerRemovalPurpose Purpose) : LeaseCommand;

/// <summary>Terminates whatever VM the lease may hold (its known instance, else any tagged one) and reports whether all are gone.</summary>
public sealed record TerminateVm(string? InstanceId) : LeaseCommand;

/// <summary>A failed lease terminates any instance a launch whose answer was lost may have made.</summary>
public sealed record CleanUpLaunches : LeaseCommand;

/// <summary>Arms the termination poll, which asks again whether the VM is gone between the organisation's ticks.</summary>
public sealed record StartTerminationPoll : LeaseCommand;

public sealed record StopTerminationPoll : LeaseCommand;

/// <summary>Records the ended lease in the cluster's lease history.</summary>
public sealed record AppendHistory(long InstallationId, LeasePhase Phase, DateTimeOffset EndedAt) : LeaseCommand;

/// <summary>Frees the organisation's slot; <paramref name="Awaited"/> false repeats a "lease ended" that may have been lost, one-way.</summary>
public sealed record ReportEnded(long InstallationId, bool Awaited) : LeaseCommand;

public sealed record Deactivate : LeaseCommand;

/// <summary>Tells the job the lease was ordered for why it still has no VM (one-way: the job's view shows it).</summary>
public sealed record ReportWaiting(long JobId, string Reason) : LeaseCommand;
