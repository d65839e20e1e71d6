using Amazon;
using Amazon.EC2;
using Amazon.Runtime;
using Amazon.Runtime.CredentialManagement;
using Builtiful.Compute.Ec2.Options;

namespace Builtiful.Compute.Ec2.Api;

/// <summary>Builds one SDK client per target.</summary>
public static class Ec2ClientFactory
{
    /// <summary>
    /// The SDK's retries are switched off (MaxErrorRetry 0, no stale-connection resends, no retry throttling) because
    /// <see cref="Ec2Api"/> retries instead: its retries take tokens from the silo's buckets, and a RunInstances
    /// with an unknown outcome must be resolved by describing before it is resent. Two retry loops would multiply
    /// attempts and hide throttling from the buckets.
    /// </summary>
    public static IAmazonEC2 Create(Ec2TargetOptions target, Ec2Options options, Ec2Transport transport)
    {
        ArgumentNullException.ThrowIfNull(target);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(transport);
        var config = new AmazonEC2Config
        {
            MaxErrorRetry = 0,
            MaxStaleConnectionRetries = 0,
            ThrottleRetries = false,
            RetryMode = RequestRetryMode.Standard,
            Timeout = options.RequestTimeout,
        };
        if (target.ServiceUrl is { } url)
        {
            config.ServiceURL = url.ToString();
            config.AuthenticationRegion = target.Region;
        }
        else
        {
            config.RegionEndpoint = RegionEndpoint.GetBySystemName(target.Region);
        }

        if (transport.HttpClientFactory is { } factory)
        {
            config.HttpClientFactory = factory;
        }

        var credentials = transport.Credentials ?? NamedProfile(target.Profile);
        try
        {
            return credentials is null ? new AmazonEC2Client(config) : new AmazonEC2Client(credentials, config);
        }
        catch (AmazonClientException ex) when (credentials is null)
        {
            // The SDK resolves its default chain here, at start-up: say what it looked for, not only that it failed.
            throw new InvalidOperationException(
                $"Compute:Ec2 found no AWS credentials for {target.Region}: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, " +
                $"AWS_PROFILE or Compute:Ec2:Profile, or run where a web identity, container or instance role is available. {ex.Message}", ex);
        }
    }

    private static AWSCredentials? NamedProfile(string? profile)
    {
        if (string.IsNullOrWhiteSpace(profile))
        {
            return null;
        }

        return new CredentialProfileStoreChain().TryGetAWSCredentials(profile, out var credentials)
            ? credentials
            : throw new InvalidOperationException($"AWS profile '{profile}' (Compute:Ec2 Profile) was not found in the shared config or credentials file.");
    }
}
