namespace Builtiful.Compute.Ec2.Options;

/// <summary>One token bucket: how many calls may go at once, and how many more per second after that.</summary>
public sealed class TokenBucketOptions
{
    [Ec2Range(1, int.MaxValue, ErrorMessage = "use at least 1 (EC2 publishes bursts of RunInstances 5, TerminateInstances 100, Describe 100)")]
    public int Burst { get; set; }

    [Ec2Range(0d, double.MaxValue, MinimumIsExclusive = true, ErrorMessage = "use a positive number (EC2 refills RunInstances 2, TerminateInstances 5, Describe 20 per second)")]
    public double PerSecond { get; set; }
}
