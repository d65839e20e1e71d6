using Builtiful.Providers;

namespace Builtiful.Leases;

/// <summary>What happens to a lease: a call from its organisation or job, a timer, or the answer to a command it gave.</summary>
public abstract record LeaseEvent;

/// <summary>The organisation asks for the lease; <paramref name="LaunchPending"/>: this activation already has a launch scheduled.</summary>
public sealed record Ordered(LeaseOrder Order, bool LaunchPending) : LeaseEvent;

/// <summary>The lease is in its installation's retention hour, so its order can be stored.</summary>
public sealed record RetentionJoined(Guid LeaseId, LeaseOrder Order, DateTimeOffset At) : LeaseEvent;

/// <summary>A new activation: a lease that was launching when its last one died resumes.</summary>
public sealed record Activated : LeaseEvent;

/// <summary>
/// The launch timer fired. <paramref name="FirstAttemptUnsent"/>: this activation stored the order as the first
/// attempt and has not sent it, so no earlier launch can have made a VM.
/// </summary>
public sealed record LaunchDue(bool FirstAttemptUnsent) : LeaseEvent;

/// <summary>The provider made the attempt's VM, or an earlier attempt's VM was found by its tag (<paramref name="Adopted"/>).</summary>
public sealed record LaunchSucceeded(int Attempt, string InstanceId, DateTimeOffset? LaunchedAt, bool Adopted) : LeaseEvent;

/// <summary>A warm pool handed the lease one of its VMs: the lease goes on as if it had launched it.</summary>
public sealed record PoolTaken(string Pool, Pools.PoolTake Vm) : LeaseEvent;

/// <summary>No warm pool serves the machine type, or it had no idle VM: the lease launches its own.</summary>
public sealed record PoolMissed : LeaseEvent;

/// <summary>The attempt failed; <paramref name="Permanent"/>: the provider or GitHub refuses for good.</summary>
public sealed record LaunchFailed(int Attempt, string Error, bool Permanent) : LeaseEvent;

/// <summary>The organisation's tick; <paramref name="LaunchPending"/>: this activation has a launch scheduled.</summary>
public sealed record DeadlineChecked(bool LaunchPending) : LeaseEvent;

/// <summary>The booting VM's state at the provider.</summary>
public sealed record VmObserved(InstanceState Observed) : LeaseEvent;

public sealed record DescribeFailed(string Error) : LeaseEvent;

/// <summary><c>in_progress</c>: the lease's runner took the job.</summary>
public sealed record JobBound(long JobId) : LeaseEvent;

/// <summary><c>completed</c>: the job that ran on the lease is over.</summary>
public sealed record JobCompleted(long JobId) : LeaseEvent;

/// <summary>The organisation no longer needs the VM (its job was cancelled, the installation went away).</summary>
public sealed record Released(string Reason) : LeaseEvent;

public sealed record RunnerRemoved(RunnerRemoval Removal, string Reason, RunnerRemovalPurpose Purpose) : LeaseEvent;

public sealed record RunnerRemovalFailed(string Error, bool Permanent, string Reason, RunnerRemovalPurpose Purpose) : LeaseEvent;

/// <summary>The organisation's batched look found the lease's instance gone while Idle or Busy.</summary>
public sealed record VmVanished(string InstanceId, InstanceState Observed) : LeaseEvent;

/// <summary>The VM must go whatever it does (installation deleted, operator action).</summary>
public sealed record TerminationOrdered(string Reason) : LeaseEvent;

/// <summary>The termination poll timer fired.</summary>
public sealed record TerminationPollDue : LeaseEvent;

/// <summary>Every VM of the lease was asked to go; <paramref name="Gone"/>: the provider confirms all are gone.</summary>
public sealed record TerminationObserved(bool Gone) : LeaseEvent;

public sealed record TerminationFailed(string Error) : LeaseEvent;

/// <summary>A failed lease's tagged instances were terminated.</summary>
public sealed record CleanupDone : LeaseEvent;

public sealed record CleanupFailed(string Error) : LeaseEvent;

/// <summary>Retention: the ended lease forgets what tied it to a job and a repository.</summary>
public sealed record Forgotten : LeaseEvent;

/// <summary>
/// A VM with a verified identity document claims its runner config. <paramref name="TokenMatches"/>: the grain found
/// the token to be one of this lease's; <paramref name="LaunchPending"/>: this activation has a launch scheduled.
/// </summary>
public sealed record ClaimRequested(string InstanceId, bool TokenMatches, bool LaunchPending) : LeaseEvent;

/// <summary>The claim's runner config was minted (the config itself stays in the grain's call, never in an event).</summary>
public sealed record RunnerConfigMinted : LeaseEvent;

/// <summary>GitHub did not mint the claimed config; <paramref name="Permanent"/> when asking again cannot help (the App lacks a permission).</summary>
public sealed record RunnerConfigMintFailed(string Error, bool Permanent = false) : LeaseEvent;

/// <summary>Why the runner's registration is removed, which decides what its answer leads to.</summary>
public enum RunnerRemovalPurpose
{
    /// <summary>A release: a runner that just took a job keeps its VM.</summary>
    Release = 0,

    /// <summary>The VM is gone already: the registration goes whatever GitHub answers.</summary>
    VmVanished = 1,
}
