using Builtiful.Providers;

namespace Builtiful.Compute.Ec2;

/// <summary>EC2's instance states in the provider contract's terms.</summary>
public static class Ec2InstanceStates
{
    public static InstanceState From(string? ec2State) => ec2State switch
    {
        "pending" => InstanceState.Pending,
        "running" => InstanceState.Running,
        "shutting-down" => InstanceState.ShuttingDown,
        "terminated" => InstanceState.Terminated,
        // Stopped is not gone: it still holds a disk and must be terminated, so the lease sees it as on its way out.
        "stopping" or "stopped" => InstanceState.ShuttingDown,
        _ => InstanceState.Pending,
    };

    /// <summary>EC2 has accepted the termination: the instance is shutting down or already terminated.</summary>
    public static bool IsEnding(string? ec2State) => ec2State is "shutting-down" or "terminated";
}
