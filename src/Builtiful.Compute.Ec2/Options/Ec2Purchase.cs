namespace Builtiful.Compute.Ec2.Options;

public enum Ec2Purchase
{
    OnDemand = 0,

    /// <summary>Spot in every instance type and zone first, then on-demand when spot has no capacity.</summary>
    SpotThenOnDemand = 1,
}
