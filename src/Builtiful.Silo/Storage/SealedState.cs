namespace Builtiful.Silo.Storage;

/// <summary>What the underlying grain storage sees instead of a grain's state: one opaque sealed record.</summary>
[GenerateSerializer, Alias("builtiful.sealed-state")]
public sealed class SealedState
{
    [Id(0)] public byte[] Record { get; set; } = [];
}
