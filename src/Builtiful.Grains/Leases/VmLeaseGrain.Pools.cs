using Builtiful.Pools;
using Microsoft.Extensions.Logging;

namespace Builtiful.Leases;

/// <summary>A lease's first attempt asks the warm pool of its machine type for an idle VM before it launches one.</summary>
public sealed partial class VmLeaseGrain
{
    /// <summary>
    /// A pool that cannot answer this soon is a miss: the lease's own launch is then at most this late, instead of waiting
    /// a whole call timeout on a pool whose silo just died (a take that lands anyway is undone by the pool, which ends a VM
    /// whose taker runs elsewhere).
    /// </summary>
    private static readonly TimeSpan TakeTimeout = TimeSpan.FromSeconds(2);

    private static TimeSpan Min(TimeSpan a, TimeSpan b) => a < b ? a : b;

    private async Task<LeaseEvent> TakeFromPoolAsync()
    {
        if (pools.Value.PoolFor(Lease.MachineType!.Label) is not { } pool)
        {
            return new PoolMissed();
        }

        try
        {
            var taken = await GrainFactory.Reference<Pools.IPoolGrain>(pool.Name).Take(LeaseId).WaitAsync(Min(Options.CallTimeout, TakeTimeout), time);
            if (taken is null)
            {
                return new PoolMissed();
            }

            LogTookFromPool(logger, LeaseId, taken.InstanceId, pool.Name);
            return new PoolTaken(pool.Name, taken);
        }
        catch (Exception ex)
        {
            LogPoolFailed(logger, LeaseId, pool.Name, ex.Message);
            return new PoolMissed();
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Lease {LeaseId}: took {InstanceId} from warm pool {Pool}")]
    private static partial void LogTookFromPool(ILogger logger, Guid leaseId, string instanceId, string pool);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Lease {LeaseId}: warm pool {Pool} did not answer, so the lease launches its own VM: {Error}")]
    private static partial void LogPoolFailed(ILogger logger, Guid leaseId, string pool, string error);
}
