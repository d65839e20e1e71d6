using Builtiful.Leases;
using Builtiful.Machines;
using Builtiful.Providers;

namespace Builtiful.Decisions.Tests.Leases;

/// <summary>Leases in each phase and one event of each kind, at fixed times around the deadlines.</summary>
internal static class LeaseWorld
{
    public static readonly DateTimeOffset Ordered = new(2026, 12, 5, 12, 0, 0, TimeSpan.Zero);
    public static readonly DateTimeOffset Soon = Ordered + TimeSpan.FromMinutes(1);
    public static readonly DateTimeOffset PastBootDeadline = Ordered + TimeSpan.FromMinutes(11);
    public static readonly DateTimeOffset PastGrace = Ordered + TimeSpan.FromMinutes(16);
    public static readonly DateTimeOffset PastExpiry = Ordered + TimeSpan.FromHours(7);

    public static readonly LeaseOptions Options = new();
    public static readonly LeaseMachine Machine = new(Options);
    public static readonly Guid LeaseId = Guid.Parse("6f1c2a3b-0000-4000-8000-000000000001");

    public static readonly MachineType Small = new("builtiful-2vcpu-ubuntu-2404", 2, 8, CpuArchitecture.X64, "ubuntu-24.04", new Dictionary<string, string>());

    public static LeaseOrder Order => new()
    {
        InstallationId = 42,
        ForJobId = 7,
        MachineType = Small,
        Labels = [Small.Label],
        AccountLogin = "octo-org",
        AccountType = "Organization",
        Repository = "octo-org/app",
    };

    /// <summary>A lease as its order stores it: Launching, first attempt, no VM.</summary>
    public static LeaseState Launching() => Machine.Decide(new LeaseState(), new RetentionJoined(LeaseId, Order, Ordered), Ordered).State;

    public static LeaseState In(LeasePhase phase)
    {
        var lease = Launching();
        if (phase == LeasePhase.Failed)
        {
            return lease with { Phase = phase, EndReason = "refused", TerminatedAt = Soon };
        }

        if (phase > LeasePhase.Launching)
        {
            lease = lease with { Phase = phase, InstanceId = "i-1", LaunchedAt = Ordered };
        }

        return phase switch
        {
            LeasePhase.Busy => lease with { JobId = 7 },
            LeasePhase.Terminating => lease with { EndReason = "job 7 completed", TerminationAttempts = 1 },
            LeasePhase.Terminated => lease with { EndReason = "job 7 completed", TerminationAttempts = 1, TerminatedAt = Soon },
            _ => lease,
        };
    }

    /// <summary>Every kind of event, by name, with the time it happens at.</summary>
    public static readonly IReadOnlyDictionary<string, (LeaseEvent Event, DateTimeOffset At)> Events = new Dictionary<string, (LeaseEvent, DateTimeOffset)>
    {
        ["ordered"] = (new Ordered(Order, LaunchPending: false), Soon),
        ["ordered, launch pending"] = (new Ordered(Order, LaunchPending: true), Soon),
        ["retention joined"] = (new RetentionJoined(LeaseId, Order, Soon), Soon),
        ["activated"] = (new Activated(), Soon),
        ["launch due"] = (new LaunchDue(FirstAttemptUnsent: false), Soon),
        ["launch succeeded"] = (new LaunchSucceeded(2, "i-2", Soon, Adopted: false), Soon),
        ["launch failed"] = (new LaunchFailed(1, "throttled", Permanent: false), Soon),
        ["pool taken"] = (new PoolTaken("linux", new Builtiful.Pools.PoolTake { VmId = Guid.Parse("6f1c2a3b-0000-4000-8000-0000000000aa"), InstanceId = "i-pool", LaunchedAt = Ordered, Ready = true }), Soon),
        ["pool missed"] = (new PoolMissed(), Soon),
        ["launch refused"] = (new LaunchFailed(1, "no image", Permanent: true), Soon),
        ["tick"] = (new DeadlineChecked(LaunchPending: false), Soon),
        ["tick past boot deadline"] = (new DeadlineChecked(LaunchPending: false), PastBootDeadline),
        ["tick past expiry"] = (new DeadlineChecked(LaunchPending: false), PastExpiry),
        ["vm running"] = (new VmObserved(InstanceState.Running), Soon),
        ["vm went away"] = (new VmObserved(InstanceState.Terminated), Soon),
        ["describe failed"] = (new DescribeFailed("timeout"), Soon),
        ["job bound"] = (new JobBound(8), Soon),
        ["job completed"] = (new JobCompleted(7), Soon),
        ["released"] = (new Released("job cancelled"), Soon),
        ["runner removed"] = (new RunnerRemoved(RunnerRemoval.Removed, "job cancelled", RunnerRemovalPurpose.Release), Soon),
        ["runner busy"] = (new RunnerRemoved(RunnerRemoval.Busy, "job cancelled", RunnerRemovalPurpose.Release), Soon),
        ["runner removal failed"] = (new RunnerRemovalFailed("503", Permanent: false, "job cancelled", RunnerRemovalPurpose.Release), Soon),
        ["vm vanished"] = (new VmVanished("i-1", InstanceState.NotFound), Soon),
        ["terminate ordered"] = (new TerminationOrdered("installation deleted"), Soon),
        ["poll due"] = (new TerminationPollDue(), Soon),
        ["termination confirmed"] = (new TerminationObserved(Gone: true), Soon),
        ["termination pending"] = (new TerminationObserved(Gone: false), Soon),
        ["termination failed"] = (new TerminationFailed("503"), Soon),
        ["cleanup done"] = (new CleanupDone(), Soon),
        ["cleanup failed"] = (new CleanupFailed("503"), Soon),
        ["forgotten"] = (new Forgotten(), Soon),
        ["claim"] = (new ClaimRequested("i-1", TokenMatches: true, LaunchPending: false), Soon),
        ["claim, wrong token"] = (new ClaimRequested("i-1", TokenMatches: false, LaunchPending: false), Soon),
        ["claim from another instance"] = (new ClaimRequested("i-9", TokenMatches: true, LaunchPending: false), Soon),
        ["config minted"] = (new RunnerConfigMinted(), Soon),
        ["config mint failed"] = (new RunnerConfigMintFailed("503"), Soon),
        ["config mint refused"] = (new RunnerConfigMintFailed("403 Resource not accessible by integration", Permanent: true), Soon),
    };

    public static string Names(IEnumerable<LeaseCommand> commands) => string.Join(",", commands.Select(c => c.GetType().Name));
}
