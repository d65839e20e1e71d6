namespace Builtiful.Compute.Ec2;

/// <summary>A termination that is not confirmed yet; the lease retries it.</summary>
public sealed class Ec2TerminationException : Exception
{
    public Ec2TerminationException()
    {
    }

    public Ec2TerminationException(string message)
        : base(message)
    {
    }

    public Ec2TerminationException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
