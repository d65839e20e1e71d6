namespace Builtiful.Compute.Ec2.Launching;

/// <summary>One way to place a launch: where, what, how bought, and the idempotency token that belongs to it.</summary>
public sealed record LaunchCandidate(Ec2Target Target, bool Spot, string InstanceType, string SubnetId, string ClientToken)
{
    public string Market => Spot ? "spot" : "on-demand";

    /// <summary><c>spot c7i.large in us-east-1a (subnet-…)</c>, for messages.</summary>
    public string Describe(bool withTarget) =>
        $"{Market} {InstanceType} in {Target.ZoneOf(SubnetId)}{(withTarget ? $" of {Target.Name}" : "")}";
}
