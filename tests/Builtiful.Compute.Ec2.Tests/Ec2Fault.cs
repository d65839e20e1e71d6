using System.Net;

namespace Builtiful.Compute.Ec2.Tests;

/// <summary>What the fault injector does to a matching request instead of (or after) passing it to moto.</summary>
public abstract record Ec2Fault
{
    /// <summary>EC2's own error document; moto never sees the request.</summary>
    public sealed record Error(HttpStatusCode Status, string Code, string Message) : Ec2Fault;

    /// <summary>moto performs the request, then the connection drops before the answer arrives.</summary>
    public sealed record LoseAnswer : Ec2Fault;

    /// <summary>The connection drops before the request reaches moto.</summary>
    public sealed record Unreachable : Ec2Fault;

    /// <summary>Eventual consistency: DescribeInstances answers as if the instances did not exist yet.</summary>
    public sealed record EmptyDescribe : Ec2Fault;

    /// <summary>Holds the request until the test opens the gate, then passes it to moto.</summary>
    public sealed record Hold(TaskCompletionSource Reached, Task Gate) : Ec2Fault;

    public static Error Throttled() => new((HttpStatusCode)503, "RequestLimitExceeded", "Request limit exceeded.");

    public static Error NoCapacity(string instanceType = "this instance type") => new(
        HttpStatusCode.InternalServerError, "InsufficientInstanceCapacity",
        $"We currently do not have sufficient {instanceType} capacity in the Availability Zone you requested. Our system will be working on provisioning additional capacity.");

    public static Error Internal() => new(HttpStatusCode.InternalServerError, "InternalError", "An internal error has occurred.");

    public static Error NotFound(string instanceId) => new(HttpStatusCode.BadRequest, "InvalidInstanceID.NotFound", $"The instance ID '{instanceId}' does not exist");
}
