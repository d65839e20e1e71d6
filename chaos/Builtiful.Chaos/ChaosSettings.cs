namespace Builtiful.Chaos;

/// <summary>How hard one chaos run pushes.</summary>
public sealed record ChaosSettings
{
    public int Jobs { get; init; } = 200;

    public int Organisations { get; init; } = 5;

    /// <summary>Share of jobs a person cancels soon after queueing them (some waiting for a VM, some booting, some running).</summary>
    public double CancelRate { get; init; } = 0.08;

    /// <summary>Share of jobs behind an environment's protection rule: sent as <c>waiting</c> (half of them twice), approved later.</summary>
    public double ApprovalRate { get; init; } = 0.1;

    /// <summary>Share of jobs in a public repository, which the organisations' policy refuses: no runner of ours may take them.</summary>
    public double RefusedRate { get; init; } = 0.05;

    /// <summary>GitHub's delivery faults: lost (only a redelivery brings it), doubled, a job's in_progress after its completed.</summary>
    public double DropRate { get; init; } = 0.1;

    public double DuplicateRate { get; init; } = 0.1;

    public double ReorderRate { get; init; } = 0.1;

    public int Seed { get; init; } = 20261129;

    /// <summary>Bound on settling; an invariant that has not settled by then fails.</summary>
    public TimeSpan Deadline { get; init; } = TimeSpan.FromMinutes(4);

    /// <summary>Silo processes on one PostgreSQL that the run starts.</summary>
    public int Silos { get; init; } = 2;

    /// <summary>SIGKILL a silo process a third of the way through queueing, and start a new one.</summary>
    public bool KillSilo { get; init; } = true;

    /// <summary>Restart PostgreSQL two thirds of the way through queueing.</summary>
    public bool RestartDatabase { get; init; }

    public static ChaosSettings Quick { get; } = new();

    public static ChaosSettings Full { get; } = new() { Jobs = 1000, Organisations = 20, Silos = 3, RestartDatabase = true, Deadline = TimeSpan.FromMinutes(20) };
}
