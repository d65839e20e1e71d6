using System.Text.RegularExpressions;
using Microsoft.Extensions.Options;

namespace Builtiful.Compute.Ec2.Options;

/// <summary>
/// The rules data annotations cannot say (see <see cref="Ec2OptionsValidator"/> for the rest): every target, whose
/// keys depend on its place, instance types keyed by size, and settings that constrain each other.
/// </summary>
public sealed partial class Ec2OptionsCrossFieldValidator : IValidateOptions<Ec2Options>
{
    public ValidateOptionsResult Validate(string? name, Ec2Options options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var problems = new List<string>();
        if (Ec2HostRequirements.ClusterNameProblem(options.ClusterName) is { } clusterName)
        {
            problems.Add(clusterName);
        }

        var targets = options.AllTargets();
        for (var i = 0; i < targets.Count; i++)
        {
            ValidateTarget(i == 0 ? Ec2Options.Section : $"{Ec2Options.Section}:Targets:{i - 1}", targets[i], problems);
        }

        foreach (var duplicate in targets.GroupBy(t => t.DisplayName, StringComparer.OrdinalIgnoreCase).Where(g => g.Count() > 1))
        {
            problems.Add($"{Ec2Options.Section}: two targets are named '{duplicate.Key}'; set Name on each target so errors say which one failed");
        }

        foreach (var (key, types) in options.InstanceTypes)
        {
            if (!InstanceTypeChoice.TryParseSizeKey(key, out _, out _))
            {
                problems.Add($"{Ec2Options.Section}:InstanceTypes:{key} is not a size key; keys look like 4vcpu-x64 or 8vcpu-arm64");
            }

            if (types is null || types.Count == 0)
            {
                problems.Add($"{Ec2Options.Section}:InstanceTypes:{key} is empty; list at least one instance type, preferred first");
                continue;
            }

            foreach (var type in types.Where(t => !InstanceTypePattern().IsMatch(t ?? "")))
            {
                problems.Add($"{Ec2Options.Section}:InstanceTypes:{key} has '{type}', which is not an instance type such as c7i.xlarge");
            }
        }

        var volume = options.RootVolume;
        if (volume.Iops is not null && volume.VolumeType == "gp2")
        {
            problems.Add($"{Ec2Options.Section}:RootVolume:Iops cannot be set for gp2 volumes; use gp3, io1 or io2, or leave it unset");
        }

        if (volume.ThroughputMiBps is not null && volume.VolumeType != "gp3")
        {
            problems.Add($"{Ec2Options.Section}:RootVolume:ThroughputMiBps applies to gp3 volumes only; use gp3 or leave it unset");
        }

        if (options.ThrottleMaxDelay < options.ThrottleBaseDelay)
        {
            problems.Add($"{Ec2Options.Section}:ThrottleMaxDelay is {options.ThrottleMaxDelay}; it caps the backoff, so use at least Compute:Ec2:ThrottleBaseDelay ({options.ThrottleBaseDelay})");
        }

        return problems.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(problems);
    }

    private static void ValidateTarget(string prefix, Ec2TargetOptions target, List<string> problems)
    {
        if (string.IsNullOrWhiteSpace(target.Region) || !RegionPattern().IsMatch(target.Region))
        {
            problems.Add($"{prefix}:Region is '{target.Region}'; set the AWS region to launch in, such as us-east-1");
        }

        if (target.ServiceUrl is { } url && (!url.IsAbsoluteUri || (url.Scheme != Uri.UriSchemeHttp && url.Scheme != Uri.UriSchemeHttps)))
        {
            problems.Add($"{prefix}:ServiceUrl '{url}' must be an absolute http or https URL, such as http://127.0.0.1:5000 for moto_server");
        }

        if (target.SubnetIds.Count == 0)
        {
            problems.Add($"{prefix}:SubnetIds is empty; list the runner subnets, one per availability zone");
        }

        for (var i = 0; i < target.SubnetIds.Count; i++)
        {
            if (!SubnetPattern().IsMatch(target.SubnetIds[i] ?? ""))
            {
                problems.Add($"{prefix}:SubnetIds:{i} is '{target.SubnetIds[i]}', which is not a subnet id (subnet-…)");
            }
        }

        if (target.SubnetIds.Distinct(StringComparer.Ordinal).Count() != target.SubnetIds.Count)
        {
            problems.Add($"{prefix}:SubnetIds names a subnet twice");
        }

        if (!SecurityGroupPattern().IsMatch(target.SecurityGroupId ?? ""))
        {
            problems.Add($"{prefix}:SecurityGroupId is '{target.SecurityGroupId}'; set the runner security group (sg-…), the one with no ingress rules");
        }

        foreach (var (key, image) in target.Images)
        {
            if (!ImagePattern().IsMatch(image ?? ""))
            {
                problems.Add($"{prefix}:Images:{key} is '{image}', which is not an image id (ami-…)");
            }
        }

        if (target.InstanceProfileArn is { Length: > 0 } arn && !InstanceProfilePattern().IsMatch(arn))
        {
            problems.Add($"{prefix}:InstanceProfileArn '{arn}' is not an instance-profile ARN (arn:aws:iam::<account>:instance-profile/<name>)");
        }
    }

    [GeneratedRegex("^[a-z]{2}(-[a-z]+)+-\\d$")]
    private static partial Regex RegionPattern();

    [GeneratedRegex("^subnet-[0-9a-f]{8,17}$")]
    private static partial Regex SubnetPattern();

    [GeneratedRegex("^sg-[0-9a-f]{8,17}$")]
    private static partial Regex SecurityGroupPattern();

    [GeneratedRegex("^ami-[0-9a-f]{8,17}$")]
    private static partial Regex ImagePattern();

    [GeneratedRegex("^[a-z][a-z0-9-]*\\.[a-z0-9-]+$")]
    private static partial Regex InstanceTypePattern();

    [GeneratedRegex("^arn:aws[a-z-]*:iam::\\d{12}:instance-profile/[\\w+=,.@/-]+$")]
    private static partial Regex InstanceProfilePattern();
}
