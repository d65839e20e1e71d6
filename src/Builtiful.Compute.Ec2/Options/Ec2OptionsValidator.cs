using System.Text.RegularExpressions;
using Microsoft.Extensions.Options;

namespace Builtiful.Compute.Ec2.Options;

/// <summary>Refuses a configuration EC2 would reject later, at start-up and with the key that is wrong.</summary>
public sealed partial class Ec2OptionsValidator : IValidateOptions<Ec2Options>
{
    private static readonly HashSet<string> VolumeTypes = new(StringComparer.Ordinal) { "gp3", "gp2", "io1", "io2" };

    public ValidateOptionsResult Validate(string? name, Ec2Options options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var problems = new List<string>();
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
        if (string.IsNullOrWhiteSpace(volume.DeviceName) || !volume.DeviceName.StartsWith("/dev/", StringComparison.Ordinal))
        {
            problems.Add($"{Ec2Options.Section}:RootVolume:DeviceName '{volume.DeviceName}' must be the image's root device, such as /dev/sda1");
        }

        if (volume.SizeGiB is < 8 or > 16384)
        {
            problems.Add($"{Ec2Options.Section}:RootVolume:SizeGiB is {volume.SizeGiB}; use 8 to 16384");
        }

        if (!VolumeTypes.Contains(volume.VolumeType))
        {
            problems.Add($"{Ec2Options.Section}:RootVolume:VolumeType is '{volume.VolumeType}'; use gp3, gp2, io1 or io2");
        }

        if (volume.Iops is not null && volume.VolumeType == "gp2")
        {
            problems.Add($"{Ec2Options.Section}:RootVolume:Iops cannot be set for gp2 volumes");
        }

        if (volume.ThroughputMiBps is not null && volume.VolumeType != "gp3")
        {
            problems.Add($"{Ec2Options.Section}:RootVolume:ThroughputMiBps applies to gp3 volumes only");
        }

        if (!ShellWord().IsMatch(options.Runner.Directory ?? "") || !options.Runner.Directory!.StartsWith('/'))
        {
            problems.Add($"{Ec2Options.Section}:Runner:Directory '{options.Runner.Directory}' must be an absolute path of letters, digits, '.', '_', '-' and '/'");
        }

        if (!ShellWord().IsMatch(options.Runner.User ?? "") || options.Runner.User!.Contains('/', StringComparison.Ordinal))
        {
            problems.Add($"{Ec2Options.Section}:Runner:User '{options.Runner.User}' must be a plain user name");
        }

        ValidateBucket("RunInstances", options.ApiLimits.RunInstances, problems);
        ValidateBucket("TerminateInstances", options.ApiLimits.TerminateInstances, problems);
        ValidateBucket("Describe", options.ApiLimits.Describe, problems);

        if (options.ThrottleRetries is < 0 or > 20)
        {
            problems.Add($"{Ec2Options.Section}:ThrottleRetries is {options.ThrottleRetries}; use 0 to 20");
        }

        if (options.UnknownOutcomeRetries is < 0 or > 20)
        {
            problems.Add($"{Ec2Options.Section}:UnknownOutcomeRetries is {options.UnknownOutcomeRetries}; use 0 to 20");
        }

        if (options.ThrottleBaseDelay <= TimeSpan.Zero || options.ThrottleMaxDelay < options.ThrottleBaseDelay)
        {
            problems.Add($"{Ec2Options.Section}: ThrottleBaseDelay must be positive and no longer than ThrottleMaxDelay");
        }

        if (options.UnknownOutcomeBaseDelay <= TimeSpan.Zero)
        {
            problems.Add($"{Ec2Options.Section}:UnknownOutcomeBaseDelay must be positive");
        }

        if (options.RequestTimeout <= TimeSpan.Zero)
        {
            problems.Add($"{Ec2Options.Section}:RequestTimeout must be positive");
        }

        if (options.VisibilityGrace < TimeSpan.Zero || options.CapacityShortageMemory < TimeSpan.Zero)
        {
            problems.Add($"{Ec2Options.Section}: VisibilityGrace and CapacityShortageMemory cannot be negative");
        }

        if (options.ListPageSize is < 5 or > 1000)
        {
            problems.Add($"{Ec2Options.Section}:ListPageSize is {options.ListPageSize}; EC2 accepts 5 to 1000");
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

    private static void ValidateBucket(string name, TokenBucketOptions bucket, List<string> problems)
    {
        if (bucket.Burst < 1 || bucket.PerSecond <= 0 || double.IsNaN(bucket.PerSecond) || double.IsInfinity(bucket.PerSecond))
        {
            problems.Add($"{Ec2Options.Section}:ApiLimits:{name} needs Burst of at least 1 and a positive PerSecond (EC2 publishes RunInstances 5/2, TerminateInstances 100/5, Describe 100/20)");
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

    [GeneratedRegex("^[A-Za-z0-9._/-]+$")]
    private static partial Regex ShellWord();
}
