namespace Builtiful.Compute.Ec2.Options;

/// <summary>One AWS account and region Builtiful launches into: its endpoint, credentials, network and images.</summary>
public sealed class Ec2TargetOptions
{
    /// <summary>Names the target in logs and error messages; defaults to the region.</summary>
    public string? Name { get; set; }

    public string Region { get; set; } = "";

    public Uri? ServiceUrl { get; set; }

    public string? Profile { get; set; }

    public string? Account { get; set; }

    public List<string> SubnetIds { get; set; } = [];

    public string SecurityGroupId { get; set; } = "";

    public Dictionary<string, string> Images { get; set; } = [];

    public string? InstanceProfileArn { get; set; }

    public string DisplayName => string.IsNullOrWhiteSpace(Name) ? Region : Name;

    /// <summary>EC2 meters API calls per account and region, so the client-side buckets are keyed the same way.</summary>
    public string RateLimitKey => $"{Account ?? Profile ?? "default"}/{Region}";
}
