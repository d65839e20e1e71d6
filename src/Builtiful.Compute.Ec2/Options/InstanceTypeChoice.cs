using Builtiful.Machines;

namespace Builtiful.Compute.Ec2.Options;

/// <summary>Which EC2 instance types can serve a machine type, preferred first.</summary>
public static class InstanceTypeChoice
{
    /// <summary>The configuration key for a machine type's size, for example <c>4vcpu-x64</c>.</summary>
    public static string SizeKey(int vcpu, CpuArchitecture architecture) =>
        $"{vcpu}vcpu-{(architecture == CpuArchitecture.Arm64 ? "arm64" : "x64")}";

    public static bool TryParseSizeKey(string key, out int vcpu, out CpuArchitecture architecture)
    {
        vcpu = 0;
        architecture = CpuArchitecture.X64;
        var parts = (key ?? "").Split("vcpu-", 2);
        if (parts.Length != 2 || !int.TryParse(parts[0], System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out vcpu) || vcpu <= 0)
        {
            return false;
        }

        switch (parts[1].ToLowerInvariant())
        {
            case "x64":
                architecture = CpuArchitecture.X64;
                return true;
            case "arm64":
                architecture = CpuArchitecture.Arm64;
                return true;
            default:
                return false;
        }
    }

    /// <summary>The configured list for the machine type's size, or current families whose memory per vCPU fits it.</summary>
    public static IReadOnlyList<string> For(MachineType machine, Ec2Options options)
    {
        ArgumentNullException.ThrowIfNull(machine);
        ArgumentNullException.ThrowIfNull(options);
        var key = SizeKey(machine.Vcpu, machine.Architecture);
        foreach (var (configured, types) in options.InstanceTypes)
        {
            if (string.Equals(configured, key, StringComparison.OrdinalIgnoreCase) && types is { Count: > 0 })
            {
                return types;
            }
        }

        var size = SizeName(machine.Vcpu);
        if (size is null)
        {
            return [];
        }

        var memoryPerVcpu = machine.MemoryGiB / (double)machine.Vcpu;
        string[] families = (machine.Architecture, memoryPerVcpu) switch
        {
            (CpuArchitecture.Arm64, <= 2) => ["c7g", "c6g", "m7g"],
            (CpuArchitecture.Arm64, <= 4) => ["m7g", "m6g", "r7g"],
            (CpuArchitecture.Arm64, _) => ["r7g", "r6g"],
            (_, <= 2) => ["c7i", "c6i", "c6a", "m7i"],
            (_, <= 4) => ["m7i", "m6i", "m6a", "r7i"],
            _ => ["r7i", "r6i", "r6a"],
        };
        return [.. families.Select(f => $"{f}.{size}")];
    }

    private static string? SizeName(int vcpu) => vcpu switch
    {
        2 => "large",
        4 => "xlarge",
        >= 8 and <= 192 when vcpu % 4 == 0 => $"{vcpu / 4}xlarge",
        _ => null,
    };
}
