using Amazon.Runtime;

namespace Builtiful.Compute.Ec2.Api;

/// <summary>
/// What the EC2 clients send requests through. Empty in production: the SDK's own HTTP stack and its default
/// credential chain. Tests and emulators register their own (a fault-injecting handler, static keys for moto).
/// </summary>
public sealed class Ec2Transport
{
    public HttpClientFactory? HttpClientFactory { get; init; }

    public AWSCredentials? Credentials { get; init; }
}
