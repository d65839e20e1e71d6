namespace Builtiful.Pools;

/// <summary>Idle deadlines: what the pool ends, and the timer that ends it even while a tick waits on something slow.</summary>
public sealed partial class PoolGrain
{
    /// <summary>
    /// Marks the VMs the plan (or a refused claim, or a taker that does not run on them) says must go, and terminates them
    /// in parallel: every expiring VM, or only the ones newly marked. It writes nothing, so it is safe at any point, also
    /// interleaved with a tick that waits on the cloud, a lease or the database (<see cref="Wake"/>).
    /// </summary>
    /// <returns>Whether every termination it asked for was accepted.</returns>
    private async Task<bool> ExpireDueAsync(bool everyExpiring, CancellationToken cancellationToken)
    {
        var plan = PoolMachine.Plan(Settings, Pool, time.GetUtcNow());
        var expire = plan.Expire.Concat(_expel.Select(e => (VmId: e.Key, Reason: e.Value))).DistinctBy(e => e.VmId).ToList();
        _expel.Clear();
        var marked = new List<PoolVm>();
        foreach (var (vmId, reason) in expire)
        {
            if (Pool.Vms.FirstOrDefault(v => v.VmId == vmId && !v.Expiring) is { } vm)
            {
                var expiring = vm with { Expiring = true };
                Replace(vm, expiring);
                marked.Add(expiring);
                Pool.Expired++;
                LogExpiring(logger, Name, vm.InstanceId ?? vmId.ToString("N"), reason);
                if (_waiting.Remove(vmId, out var waiter))
                {
                    waiter.TrySetCanceled(CancellationToken.None);
                }
            }
        }

        var terminate = everyExpiring ? Pool.Vms.Where(v => v.Expiring).ToList() : marked;
        var accepted = await Task.WhenAll(terminate.Select(vm => TerminateAsync(vm, cancellationToken)));
        return accepted.All(ok => ok);
    }
}
