namespace Builtiful.Machines;

public enum CpuArchitecture
{
    X64 = 0,
    Arm64 = 1,
}

/// <summary>One size of VM that a <c>builtiful-</c> label names, with its image per compute provider.</summary>
[GenerateSerializer, Immutable, Alias("builtiful.machine-type")]
public sealed record MachineType(
    [property: Id(0)] string Label,
    [property: Id(1)] int Vcpu,
    [property: Id(2)] int MemoryGiB,
    [property: Id(3)] CpuArchitecture Architecture,
    [property: Id(4)] string OperatingSystem,
    [property: Id(5)] IReadOnlyDictionary<string, string> ImagesByProvider)
{
    public string? ImageFor(string provider) =>
        ImagesByProvider.TryGetValue(provider, out var image) ? image : null;
}
