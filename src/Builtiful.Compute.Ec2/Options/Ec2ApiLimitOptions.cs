using Microsoft.Extensions.Options;

namespace Builtiful.Compute.Ec2.Options;

/// <summary>
/// Client-side token buckets per account and region, modelled on EC2's published request buckets, so a silo
/// spends its share of EC2's budget evenly instead of bursting into <c>RequestLimitExceeded</c>.
/// </summary>
public sealed class Ec2ApiLimitOptions
{
    [ValidateObjectMembers]
    public TokenBucketOptions RunInstances { get; set; } = new() { Burst = 5, PerSecond = 2 };

    [ValidateObjectMembers]
    public TokenBucketOptions TerminateInstances { get; set; } = new() { Burst = 100, PerSecond = 5 };

    /// <summary>Filtered, paginated Describe* calls (the only kind Builtiful makes).</summary>
    [ValidateObjectMembers]
    public TokenBucketOptions Describe { get; set; } = new() { Burst = 100, PerSecond = 20 };
}
