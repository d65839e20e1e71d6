namespace Builtiful.Compute.Ec2.Api;

/// <summary>EC2's request buckets for the calls Builtiful makes, for one account and region.</summary>
public sealed record Ec2ApiBuckets(RequestBucket RunInstances, RequestBucket TerminateInstances, RequestBucket Describe) : IDisposable
{
    public void Dispose()
    {
        RunInstances.Dispose();
        TerminateInstances.Dispose();
        Describe.Dispose();
    }
}
