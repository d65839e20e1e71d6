using System.ComponentModel.DataAnnotations;

namespace Builtiful.Compute.Ec2.Options;

/// <summary>
/// <see cref="RangeAttribute"/> whose failure names the configuration key and the value found, such as
/// <c>Compute:Ec2:RootVolume:SizeGiB is 2; use 8 to 16384</c>, with <see cref="ValidationAttribute.ErrorMessage"/>
/// saying what to use. A subclass because the options validator generator drops a plain Range's ErrorMessage
/// (dotnet/runtime#123137).
/// </summary>
[AttributeUsage(AttributeTargets.Property)]
public sealed class Ec2RangeAttribute : RangeAttribute
{
    public Ec2RangeAttribute(int minimum, int maximum)
        : base(minimum, maximum)
    {
    }

    public Ec2RangeAttribute(double minimum, double maximum)
        : base(minimum, maximum)
    {
    }

    public Ec2RangeAttribute(Type type, string minimum, string maximum)
        : base(type, minimum, maximum)
    {
    }

    protected override ValidationResult? IsValid(object? value, ValidationContext validationContext)
    {
        ArgumentNullException.ThrowIfNull(validationContext);
        if (IsValid(value))
        {
            return ValidationResult.Success;
        }

        // The generated validator names members "Ec2Options.RootVolume.SizeGiB"; configuration calls that "Compute:Ec2:RootVolume:SizeGiB".
        var path = validationContext.DisplayName;
        var key = Ec2Options.Section + ":" + path[(path.IndexOf('.', StringComparison.Ordinal) + 1)..].Replace('.', ':');
        var accepted = ErrorMessage ?? $"use {Minimum} to {Maximum}";
        return new ValidationResult($"{key} is {Convert.ToString(value, System.Globalization.CultureInfo.InvariantCulture)}; {accepted}", validationContext.MemberName is { } member ? [member] : null);
    }
}
