using Builtiful.Providers;

namespace Builtiful.Launching;

/// <summary>The launch budget of a silo in a cluster: asks the budget's grain, again and again, until it grants a token.</summary>
public sealed class ClusterLaunchBudget(IGrainFactory grains) : ILaunchBudget
{
    public async ValueTask AcquireAsync(LaunchBudgetKey budget, long installationId, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(budget);
        var grain = grains.Reference<ILaunchBudgetGrain>(budget.Name);
        while (true)
        {
            cancellationToken.ThrowIfCancellationRequested();
            try
            {
                if (await grain.Acquire(installationId, budget.Burst, budget.PerSecond).WaitAsync(cancellationToken))
                {
                    return;
                }
            }
            catch (Exception ex) when (ex is TimeoutException or SiloUnavailableException or OrleansMessageRejectionException)
            {
                // The grain's silo went away mid-poll: its next activation, on a silo that lives, answers the next ask.
            }
        }
    }
}
