using Builtiful.Machines;

namespace Builtiful.Machines;

/// <summary>
/// Configuration section <c>MachineCatalogue</c>: sizes times images. Every size is offered with every
/// image, so <c>builtiful-{vcpu}vcpu-{os}</c> and <c>…-arm</c> come from one short table.
/// </summary>
public sealed class MachineCatalogueOptions
{
    public const string Section = "MachineCatalogue";

    public List<MachineSize> Sizes { get; set; } = [];

    public List<MachineImage> Images { get; set; } = [];
}

public sealed class MachineSize
{
    public int Vcpu { get; set; }

    public int MemoryGiB { get; set; }
}

public sealed class MachineImage
{
    /// <summary>For example <c>ubuntu-2404</c>.</summary>
    public string OperatingSystem { get; set; } = "";

    public CpuArchitecture Architecture { get; set; }

    /// <summary>Image id per compute provider name, for example <c>{ "Ec2": "ami-…", "Simulated": "sim-ubuntu-2404" }</c>.</summary>
    public Dictionary<string, string> Images { get; set; } = [];
}
