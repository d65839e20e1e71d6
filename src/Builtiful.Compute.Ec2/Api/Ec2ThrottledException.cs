namespace Builtiful.Compute.Ec2.Api;

/// <summary>EC2 kept answering <c>RequestLimitExceeded</c> after every backoff.</summary>
public sealed class Ec2ThrottledException : Exception
{
    public Ec2ThrottledException()
    {
    }

    public Ec2ThrottledException(string message)
        : base(message)
    {
    }

    public Ec2ThrottledException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
