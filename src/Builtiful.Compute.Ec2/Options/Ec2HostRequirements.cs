using System.Text.RegularExpressions;
using Microsoft.Extensions.Configuration;

namespace Builtiful.Compute.Ec2.Options;

/// <summary>
/// What a host must give EC2 before it may start: a cluster name of its own, so it never reconciles another cluster's
/// VMs, and durable grain state, so a restart does not turn its own VMs into unknown ones (or a loudly named override).
/// </summary>
public static partial class Ec2HostRequirements
{
    public const string ClusterNameKey = Ec2Options.Section + ":" + nameof(Ec2Options.ClusterName);

    public const string AllowEphemeralStateKey = Ec2Options.Section + ":" + nameof(Ec2Options.AllowEphemeralState);

    /// <summary>Each problem names its key; <paramref name="durableState"/> says whether grain state survives a restart.</summary>
    public static IReadOnlyList<string> Problems(IConfiguration configuration, bool durableState)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        var problems = new List<string>();
        if (ClusterNameProblem(configuration[ClusterNameKey]) is { } clusterName)
        {
            problems.Add(clusterName);
        }

        if (!durableState && !AllowsEphemeralState(configuration))
        {
            problems.Add($"EC2 with in-memory grain storage is refused: a restart forgets every lease and the reconciler would terminate their VMs. Set ConnectionStrings:Builtiful (PostgreSQL), or for a trial only {AllowEphemeralStateKey}=true.");
        }

        return problems;
    }

    /// <summary>True when EC2 runs on state a restart loses, by the operator's explicit choice; hosts log <see cref="EphemeralStateWarning"/>.</summary>
    public static bool AllowsEphemeralState(IConfiguration configuration) =>
        bool.TryParse(configuration?[AllowEphemeralStateKey], out var allowed) && allowed;

    public const string EphemeralStateWarning =
        AllowEphemeralStateKey + "=true: EC2 runs on in-memory grain storage. A restart forgets every lease; the reconciler then terminates their VMs, running jobs included. Use PostgreSQL (ConnectionStrings:Builtiful) for anything but a trial.";

    internal static string? ClusterNameProblem(string? clusterName) =>
        string.IsNullOrWhiteSpace(clusterName)
            ? $"{ClusterNameKey} is not set: name this cluster (for example builtiful-production). It tags every VM and the reconciler terminates only VMs carrying it, so clusters sharing an AWS account must use different names."
            : ClusterNamePattern().IsMatch(clusterName) ? null : $"{ClusterNameKey} is '{clusterName}'; use 1 to 128 letters, digits or _.:/=+@- (an EC2 tag value, as deploy/aws's cluster_name).";

    [GeneratedRegex("^[A-Za-z0-9_.:/=+@-]{1,128}$")]
    private static partial Regex ClusterNamePattern();
}
