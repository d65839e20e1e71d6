using Microsoft.Extensions.Options;

namespace Builtiful.Leases;

/// <summary>The data annotations on <see cref="LeaseOptions"/>, checked by generated code; each failure names its key.</summary>
[OptionsValidator]
internal sealed partial class LeaseOptionsAnnotations : IValidateOptions<LeaseOptions>;

/// <summary>The annotations, then what they cannot say: a VM's hard cap outlasts its boot deadline.</summary>
public sealed class LeaseOptionsValidator : IValidateOptions<LeaseOptions>
{
    public ValidateOptionsResult Validate(string? name, LeaseOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var annotations = new LeaseOptionsAnnotations().Validate(name, options);
        List<string> failures = annotations.Failed ? [.. annotations.Failures] : [];
        if (options.MaxLifetime <= options.BootDeadline)
        {
            failures.Add($"{LeaseOptions.Section}:MaxLifetime is {options.MaxLifetime}; it must be longer than {LeaseOptions.Section}:BootDeadline ({options.BootDeadline})");
        }

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }
}
