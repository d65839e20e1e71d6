using Orleans.Concurrency;

namespace Builtiful.Providers;

/// <summary>One launch budget: its name (a provider's account and region) and the bucket it allows.</summary>
public sealed record LaunchBudgetKey(string Name, int Burst, double PerSecond);

/// <summary>
/// The cluster's launch budget: a provider takes one token before each launch request it sends, so every silo together
/// stays inside the cloud's limit for that account and region.
/// </summary>
public interface ILaunchBudget
{
    /// <summary>Waits until a token of <paramref name="budget"/> is held for <paramref name="installationId"/>; tokens are shared round-robin between waiting installations.</summary>
    ValueTask AcquireAsync(LaunchBudgetKey budget, long installationId, CancellationToken cancellationToken);
}

/// <summary>One launch budget for the whole cluster, keyed by <see cref="LaunchBudgetKey.Name"/>.</summary>
[Alias("builtiful.launch-budget")]
public interface ILaunchBudgetGrain : IGrainWithStringKey
{
    /// <summary>
    /// Long-poll: true once a token is granted, false ("ask again") after a bounded wait well under the call timeout,
    /// so no call hangs. The bucket's size travels with each call: every silo reads the same configuration.
    /// </summary>
    [AlwaysInterleave, Alias("acquire")]
    Task<bool> Acquire(long installationId, int burst, double perSecond);

    /// <summary>What the budget holds now: tokens left and the launches waiting for one, per installation.</summary>
    [AlwaysInterleave, ReadOnly, Alias("view")]
    Task<LaunchBudgetView> View();
}

/// <summary>A launch budget at one instant: tokens left (refilled up to now) and the launches that wait, per installation.</summary>
[GenerateSerializer, Immutable, Alias("builtiful.launch-budget-view")]
public sealed record LaunchBudgetView
{
    [Id(0)] public double Tokens { get; init; }

    [Id(1)] public IReadOnlyDictionary<long, int> WaitingByInstallation { get; init; } = new Dictionary<long, int>();

    public int Waiting => WaitingByInstallation.Values.Sum();
}
