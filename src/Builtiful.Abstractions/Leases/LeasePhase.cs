namespace Builtiful.Leases;

/// <summary>
/// A lease's phase, ordered: a lease only moves to a later phase. <see cref="Failed"/> is terminal and
/// reached only when no VM could be launched.
/// </summary>
public enum LeasePhase
{
    // 0 is retired (Requested, never shipped): a lease is stored as Launching with its first attempt. Values are stored: never renumber.
    Launching = 1,
    Booting = 2,
    Idle = 3,
    Busy = 4,
    Terminating = 5,
    Terminated = 6,
    Failed = 7,
}

public static class LeasePhaseNames
{
    public static string ToWire(this LeasePhase phase) => phase switch
    {
        LeasePhase.Launching => "launching",
        LeasePhase.Booting => "booting",
        LeasePhase.Idle => "idle",
        LeasePhase.Busy => "busy",
        LeasePhase.Terminating => "terminating",
        LeasePhase.Terminated => "terminated",
        LeasePhase.Failed => "failed",
        _ => throw new ArgumentOutOfRangeException(nameof(phase), phase, "Unknown lease phase."),
    };

    /// <summary>True once the lease holds no VM and never will again.</summary>
    public static bool IsFinal(this LeasePhase phase) => phase is LeasePhase.Terminated or LeasePhase.Failed;

    /// <summary>True while the lease has no job bound and its runner could still take one.</summary>
    public static bool IsUnbound(this LeasePhase phase) =>
        phase is LeasePhase.Launching or LeasePhase.Booting or LeasePhase.Idle;
}
