using Orleans.Concurrency;

namespace Builtiful.Leases;

/// <summary>
/// A lease's call to itself: the launch it scheduled for now, run as its own turn after the one that scheduled it (as a
/// timer due at once would be, without the timer's registration staying on the activation). Only the lease calls it.
/// </summary>
[Alias("builtiful.vm-lease-launch")]
public interface IVmLeaseLaunch : IGrainWithGuidKey
{
    [OneWay, Alias("launch-due")]
    Task LaunchDue();
}
