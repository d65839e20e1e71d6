namespace Builtiful.Compute.Ec2.Options;

/// <summary>One token bucket: how many calls may go at once, and how many more per second after that.</summary>
public sealed class TokenBucketOptions
{
    public int Burst { get; set; }

    public double PerSecond { get; set; }
}
