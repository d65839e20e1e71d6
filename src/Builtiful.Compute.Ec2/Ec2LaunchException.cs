namespace Builtiful.Compute.Ec2;

/// <summary>A launch that produced no instance; the message says why, for the lease's last error in the admin API.</summary>
public sealed class Ec2LaunchException : Exception
{
    public Ec2LaunchException()
    {
    }

    public Ec2LaunchException(string message)
        : base(message)
    {
    }

    public Ec2LaunchException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
