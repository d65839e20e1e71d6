namespace Builtiful.Organisations;

[GenerateSerializer, Immutable, Alias("builtiful.organisation-limits")]
public sealed record OrganisationLimits
{
    [Id(0)] public int MaxConcurrentVms { get; init; } = 20;
    /// <summary>Empty: every machine type in the catalogue.</summary>
    [Id(1)] public IReadOnlyList<string> AllowedMachineTypes { get; init; } = [];
    [Id(2)] public TimeSpan MaxJobLifetime { get; init; } = TimeSpan.FromHours(6);
    /// <summary>The GitHub runner group Builtiful's runners join.</summary>
    [Id(3)] public long RunnerGroupId { get; init; } = 1;
}
