using Builtiful.Compute.Ec2.Options;
using Builtiful.Providers;

namespace Builtiful.Compute.Ec2.Launching;

/// <summary>
/// Every candidate for one launch attempt, in the order they are tried: target, then spot before on-demand
/// where configured, then instance type, then subnet. The order and each candidate's token depend only on the
/// attempt's token and the configuration, so a retry of the attempt (even on another silo) asks EC2 for
/// exactly the same launches and EC2's idempotency returns what an earlier try made.
/// </summary>
public static class LaunchPlan
{
    public static IReadOnlyList<LaunchCandidate> For(LaunchRequest request, IReadOnlyList<Ec2Target> targets, Ec2Options options)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(targets);
        ArgumentNullException.ThrowIfNull(options);
        var types = InstanceTypeChoice.For(request.MachineType, options);
        var purchase = options.PurchaseByMachineType.TryGetValue(request.MachineType.Label, out var chosen) ? chosen : options.Purchase;
        bool[] markets = purchase == Ec2Purchase.SpotThenOnDemand ? [true, false] : [false];
        var firstTarget = ClientTokens.Spread(request.ClientToken, targets.Count);
        var candidates = new List<LaunchCandidate>();
        for (var t = 0; t < targets.Count; t++)
        {
            var target = targets[(firstTarget + t) % targets.Count];
            var subnets = target.Options.SubnetIds;
            var firstSubnet = ClientTokens.Spread(request.ClientToken + "/" + target.Name, subnets.Count);
            foreach (var spot in markets)
            {
                foreach (var type in types)
                {
                    for (var s = 0; s < subnets.Count; s++)
                    {
                        var subnet = subnets[(firstSubnet + s) % subnets.Count];
                        candidates.Add(new LaunchCandidate(target, spot, type, subnet, ClientTokens.ForCandidate(request.ClientToken, candidates.Count)));
                    }
                }
            }
        }

        return candidates;
    }
}
