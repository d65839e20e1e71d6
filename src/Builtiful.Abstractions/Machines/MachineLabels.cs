namespace Builtiful.Machines;

/// <summary>The label grammar shared by the gateway (is this job ours?) and the catalogue (which machine?).</summary>
public static class MachineLabels
{
    public const string Prefix = "builtiful-";

    /// <summary>True when any label claims Builtiful; jobs without one are not ours and create nothing.</summary>
    public static bool AnyOurs(IEnumerable<string> labels)
    {
        ArgumentNullException.ThrowIfNull(labels);
        foreach (var label in labels)
        {
            if (IsOurs(label))
            {
                return true;
            }
        }

        return false;
    }

    public static bool IsOurs(string? label) =>
        label is not null && label.StartsWith(Prefix, StringComparison.OrdinalIgnoreCase);

    /// <summary>builtiful-{vcpu}vcpu-{os}[-arm], for example builtiful-4vcpu-ubuntu-2404-arm.</summary>
    public static string Compose(int vcpu, string operatingSystem, CpuArchitecture architecture) =>
        architecture == CpuArchitecture.Arm64
            ? $"{Prefix}{vcpu}vcpu-{operatingSystem}-arm"
            : $"{Prefix}{vcpu}vcpu-{operatingSystem}";
}
