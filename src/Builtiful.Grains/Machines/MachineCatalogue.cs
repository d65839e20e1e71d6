using System.Collections.Frozen;
using Microsoft.Extensions.Options;

namespace Builtiful.Machines;

/// <summary>The one place that maps labels to machine types.</summary>
public sealed class MachineCatalogue
{
    private readonly FrozenDictionary<string, MachineType> _byLabel;

    public MachineCatalogue(IOptions<MachineCatalogueOptions> options)
        : this(options.Value)
    {
    }

    public MachineCatalogue(MachineCatalogueOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var problems = new List<string>();
        if (options.Sizes.Count == 0)
        {
            problems.Add("MachineCatalogue:Sizes is empty");
        }

        if (options.Images.Count == 0)
        {
            problems.Add("MachineCatalogue:Images is empty");
        }

        var types = new Dictionary<string, MachineType>(StringComparer.OrdinalIgnoreCase);
        foreach (var size in options.Sizes)
        {
            if (size.Vcpu <= 0 || size.MemoryGiB <= 0)
            {
                problems.Add($"MachineCatalogue:Sizes has an entry with Vcpu={size.Vcpu} MemoryGiB={size.MemoryGiB}; both must be positive");
                continue;
            }

            foreach (var image in options.Images)
            {
                if (string.IsNullOrWhiteSpace(image.OperatingSystem))
                {
                    problems.Add("MachineCatalogue:Images has an entry without OperatingSystem");
                    continue;
                }

                var label = MachineLabels.Compose(size.Vcpu, image.OperatingSystem, image.Architecture);
                if (!types.TryAdd(label, new MachineType(label, size.Vcpu, size.MemoryGiB, image.Architecture, image.OperatingSystem, new Dictionary<string, string>(image.Images, StringComparer.Ordinal))))
                {
                    problems.Add($"MachineCatalogue names {label} twice");
                }
            }
        }

        if (problems.Count > 0)
        {
            throw new OptionsValidationException(MachineCatalogueOptions.Section, typeof(MachineCatalogueOptions), problems);
        }

        _byLabel = types.ToFrozenDictionary(StringComparer.OrdinalIgnoreCase);
    }

    public IReadOnlyCollection<MachineType> All => _byLabel.Values;

    /// <summary>Which machine type a job's labels ask for, or why none can serve it.</summary>
    public MachineMatch Match(IReadOnlyList<string> labels)
    {
        ArgumentNullException.ThrowIfNull(labels);
        MachineType? found = null;
        foreach (var label in labels)
        {
            if (!MachineLabels.IsOurs(label))
            {
                continue;
            }

            if (!_byLabel.TryGetValue(label, out var type))
            {
                return MachineMatch.Unserved($"label '{label}' is not a machine type Builtiful serves; labels look like builtiful-{{2,4,8,16,32}}vcpu-ubuntu-{{2204,2404}}[-arm]");
            }

            if (found is not null && !found.Label.Equals(type.Label, StringComparison.OrdinalIgnoreCase))
            {
                return MachineMatch.Unserved($"labels name two machine types, '{found.Label}' and '{type.Label}'; a job runs on one");
            }

            found = type;
        }

        return found is null ? MachineMatch.NotOurs : MachineMatch.Served(found);
    }
}

public sealed record MachineMatch(MachineType? MachineType, string? Reason, bool IsOurs)
{
    public static readonly MachineMatch NotOurs = new(null, "no builtiful- label", false);

    public static MachineMatch Served(MachineType type) => new(type, null, true);

    public static MachineMatch Unserved(string reason) => new(null, reason, true);
}
