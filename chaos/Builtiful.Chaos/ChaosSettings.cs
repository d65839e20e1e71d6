namespace Builtiful.Chaos;

/// <summary>How hard one chaos run pushes.</summary>
public sealed record ChaosSettings
{
    public int Jobs { get; init; } = 200;

    public int Organisations { get; init; } = 5;

    /// <summary>Share of jobs GitHub cancels soon after queueing them (some before, some after a runner took them).</summary>
    public double CancelRate { get; init; } = 0.1;

    public double DropRate { get; init; } = 0.1;

    public double DuplicateRate { get; init; } = 0.1;

    public double ReorderRate { get; init; } = 0.1;

    public int Seed { get; init; } = 20261129;

    /// <summary>Bound on the whole run; an invariant that has not settled by then fails.</summary>
    public TimeSpan Deadline { get; init; } = TimeSpan.FromMinutes(4);

    /// <summary>Silos in the cluster; more than one runs on a real PostgreSQL, with a silo killed and restarted and the database restarted mid-run.</summary>
    public int Silos { get; init; } = 1;

    public bool KillSilo { get; init; } = true;

    public bool RestartDatabase { get; init; } = true;

    public static ChaosSettings Quick { get; } = new();

    public static ChaosSettings Full { get; } = new() { Jobs = 1000, Organisations = 20, Silos = 3, Deadline = TimeSpan.FromMinutes(20) };
}
