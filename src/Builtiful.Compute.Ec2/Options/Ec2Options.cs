using Builtiful.Retries;
using Microsoft.Extensions.Options;

namespace Builtiful.Compute.Ec2.Options;

/// <summary>
/// Configuration section <c>Compute:Ec2</c>. The top-level <see cref="Region"/>, network and images form the
/// first account and region Builtiful launches into; <see cref="Targets"/> adds more, because EC2's launch rate
/// per account and region is the ceiling on how fast jobs can start. Credentials always come from the SDK's
/// default chain (or a named <see cref="Profile"/>), never from this section.
/// </summary>
public sealed class Ec2Options
{
    public const string Section = "Compute:Ec2";

    /// <summary>
    /// The value of the <c>builtiful:cluster</c> tag on every VM, and the only VMs the reconciler may terminate. Required,
    /// with no default: two clusters (production and staging) in one account must never share it.
    /// </summary>
    public string ClusterName { get; set; } = "";

    /// <summary>
    /// Lets EC2 run on the embedded host's in-memory grain storage, for trials only: a restart forgets every lease, and
    /// the reconciler then terminates the VMs those leases own (running jobs included).
    /// </summary>
    public bool AllowEphemeralState { get; set; }

    /// <summary>Names the first target in logs and error messages; defaults to the region.</summary>
    public string? Name { get; set; }

    /// <summary>For example <c>us-east-1</c>. Required.</summary>
    public string Region { get; set; } = "";

    /// <summary>An EC2-compatible endpoint such as moto_server; unset for AWS itself.</summary>
    public Uri? ServiceUrl { get; set; }

    /// <summary>A named profile from the shared AWS config files; unset uses the SDK's default credential chain.</summary>
    public string? Profile { get; set; }

    /// <summary>Which AWS account the credentials belong to, so two targets in one account and region share one rate limit.</summary>
    public string? Account { get; set; }

    /// <summary>Runner subnets, ideally one per availability zone; launches rotate across them.</summary>
    public List<string> SubnetIds { get; set; } = [];

    /// <summary>The runner security group, which has no ingress rules.</summary>
    public string SecurityGroupId { get; set; } = "";

    /// <summary>AMI per <c>{os}-{arch}</c> (<c>ubuntu-2404-x64</c>) or per architecture (<c>x64</c>, <c>arm64</c>); falls back to the machine catalogue's <c>Ec2</c> image.</summary>
    public Dictionary<string, string> Images { get; set; } = [];

    /// <summary>Unset (the default) launches runners with no instance profile, so a job gets no AWS credentials from its VM.</summary>
    public string? InstanceProfileArn { get; set; }

    /// <summary>More accounts or regions; each carries its own network and images.</summary>
    public List<Ec2TargetOptions> Targets { get; set; } = [];

    /// <summary>
    /// Instance types per <c>{vcpu}vcpu-{arch}</c> (<c>4vcpu-x64</c>), tried in order when capacity runs out.
    /// Sizes without an entry use current general-purpose families matched to the machine type's memory.
    /// </summary>
    public Dictionary<string, List<string>> InstanceTypes { get; set; } = [];

    /// <summary>How machine types without an entry in <see cref="PurchaseByMachineType"/> are bought.</summary>
    public Ec2Purchase Purchase { get; set; } = Ec2Purchase.OnDemand;

    /// <summary>Per machine-type label, for example <c>builtiful-32vcpu-ubuntu-2404: SpotThenOnDemand</c>.</summary>
    public Dictionary<string, Ec2Purchase> PurchaseByMachineType { get; set; } = new(StringComparer.OrdinalIgnoreCase);

    [ValidateObjectMembers]
    public RootVolumeOptions RootVolume { get; set; } = new();

    [ValidateObjectMembers]
    public RunnerBootstrapOptions Runner { get; set; } = new();

    [ValidateObjectMembers]
    public Ec2ApiLimitOptions ApiLimits { get; set; } = new();

    /// <summary>Calls refused with <c>RequestLimitExceeded</c> are retried this many times, with exponential backoff and full jitter.</summary>
    [Ec2Range(0, 20, ErrorMessage = "use 0 to 20")]
    public int ThrottleRetries { get; set; } = 6;

    [Ec2Range(typeof(TimeSpan), "00:00:00", "10675199.02:48:05.4775807", MinimumIsExclusive = true, ErrorMessage = "use a positive time span such as 00:00:00.200")]
    public TimeSpan ThrottleBaseDelay { get; set; } = TimeSpan.FromMilliseconds(200);

    public TimeSpan ThrottleMaxDelay { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>A RunInstances whose outcome is unknown (timeout, 5xx, lost answer) is resolved and resent with the same token this many times.</summary>
    [Ec2Range(0, 20, ErrorMessage = "use 0 to 20")]
    public int UnknownOutcomeRetries { get; set; } = 3;

    [Ec2Range(typeof(TimeSpan), "00:00:00", "10675199.02:48:05.4775807", MinimumIsExclusive = true, ErrorMessage = "use a positive time span such as 00:00:00.500")]
    public TimeSpan UnknownOutcomeBaseDelay { get; set; } = TimeSpan.FromMilliseconds(500);

    /// <summary>Bounds one HTTP exchange with EC2; a RunInstances that times out is an unknown outcome, not a failure.</summary>
    [Ec2Range(typeof(TimeSpan), "00:00:00", "10675199.02:48:05.4775807", MinimumIsExclusive = true, ErrorMessage = "use a positive time span such as 00:00:20")]
    public TimeSpan RequestTimeout { get; set; } = TimeSpan.FromSeconds(20);

    /// <summary>
    /// EC2's API is eventually consistent: an instance this silo launched less than this long ago that EC2 says does
    /// not exist is reported as pending, not gone.
    /// </summary>
    [Ec2Range(typeof(TimeSpan), "00:00:00", "10675199.02:48:05.4775807", ErrorMessage = "use zero or a positive time span such as 00:05:00")]
    public TimeSpan VisibilityGrace { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>An instance type refused for lack of capacity in one subnet is tried last there for this long.</summary>
    [Ec2Range(typeof(TimeSpan), "00:00:00", "10675199.02:48:05.4775807", ErrorMessage = "use zero or a positive time span such as 00:02:00")]
    public TimeSpan CapacityShortageMemory { get; set; } = TimeSpan.FromMinutes(2);

    /// <summary>DescribeInstances page size for list-by-tag (EC2 allows 5 to 1000).</summary>
    [Ec2Range(5, 1000, ErrorMessage = "use 5 to 1000, the page sizes EC2 accepts")]
    public int ListPageSize { get; set; } = 500;

    /// <summary>Retries after <c>RequestLimitExceeded</c>: full jitter, because every silo in the account meets the same limit.</summary>
    public Backoff ThrottleBackoff => new(ThrottleBaseDelay, ThrottleMaxDelay, BackoffJitter.Full);

    /// <summary>Resends after an unknown outcome, capped like throttling retries.</summary>
    public Backoff UnknownOutcomeBackoff => new(UnknownOutcomeBaseDelay, TimeSpan.FromTicks(Math.Max(UnknownOutcomeBaseDelay.Ticks, ThrottleMaxDelay.Ticks)), BackoffJitter.Full);

    /// <summary>The first target followed by <see cref="Targets"/>.</summary>
    public IReadOnlyList<Ec2TargetOptions> AllTargets() =>
    [
        new Ec2TargetOptions
        {
            Name = Name,
            Region = Region,
            ServiceUrl = ServiceUrl,
            Profile = Profile,
            Account = Account,
            SubnetIds = SubnetIds,
            SecurityGroupId = SecurityGroupId,
            Images = Images,
            InstanceProfileArn = InstanceProfileArn,
        },
        .. Targets,
    ];
}
