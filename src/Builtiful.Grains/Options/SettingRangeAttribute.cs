using System.ComponentModel.DataAnnotations;
using System.Globalization;
using System.Reflection;

namespace Builtiful;

/// <summary>
/// <see cref="RangeAttribute"/> whose failure names the configuration key and the value found, such as
/// <c>Leases:CheckPeriod is 00:00:00.5000000; use at least 00:00:01</c>; <see cref="ValidationAttribute.ErrorMessage"/>,
/// when set, replaces what follows the semicolon. The key is the options class's <c>Section</c> constant and the
/// property's name. A subclass because the options validator generator drops a plain Range's ErrorMessage
/// (dotnet/runtime#123137), as Builtiful.Compute.Ec2's Ec2RangeAttribute works around too.
/// </summary>
[AttributeUsage(AttributeTargets.Property)]
public sealed class SettingRangeAttribute : RangeAttribute
{
    /// <summary>At least <paramref name="minimum"/>.</summary>
    public SettingRangeAttribute(int minimum)
        : base(minimum, int.MaxValue)
    {
    }

    public SettingRangeAttribute(int minimum, int maximum)
        : base(minimum, maximum)
    {
    }

    /// <summary>At least <paramref name="minimum"/>, for <see cref="TimeSpan"/> settings such as <c>00:00:01</c>.</summary>
    public SettingRangeAttribute(Type type, string minimum)
        : base(type, minimum, type == typeof(TimeSpan) ? TimeSpan.MaxValue.ToString("c", CultureInfo.InvariantCulture) : throw new ArgumentException("Give a maximum for types other than TimeSpan.", nameof(type)))
    {
    }

    public SettingRangeAttribute(Type type, string minimum, string maximum)
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

        var section = validationContext.ObjectType.GetField("Section", BindingFlags.Public | BindingFlags.Static)?.GetRawConstantValue() as string;
        var member = validationContext.MemberName ?? validationContext.DisplayName;
        var key = section is null ? member : $"{section}:{member}";
        // No member names: the message already names the key, and the options builder would prefix it with the property's name.
        return new ValidationResult($"{key} is {Convert.ToString(value, CultureInfo.InvariantCulture)}; {ErrorMessage ?? Accepted()}");
    }

    private string Accepted()
    {
        var unbounded = Maximum is int.MaxValue || (Maximum is TimeSpan longest && longest == TimeSpan.MaxValue)
            || (Maximum is string text && text == TimeSpan.MaxValue.ToString("c", CultureInfo.InvariantCulture));
        var minimum = Convert.ToString(Minimum, CultureInfo.InvariantCulture);
        return unbounded
            ? MinimumIsExclusive ? $"use more than {minimum}" : $"use at least {minimum}"
            : $"use {minimum} to {Convert.ToString(Maximum, CultureInfo.InvariantCulture)}";
    }
}
