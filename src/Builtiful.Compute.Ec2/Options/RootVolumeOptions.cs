using System.ComponentModel.DataAnnotations;

namespace Builtiful.Compute.Ec2.Options;

/// <summary>The runner's root disk: encrypted, and always deleted with the instance (no persistent storage).</summary>
public sealed class RootVolumeOptions
{
    /// <summary>Must match the image's root device; Ubuntu AMIs use <c>/dev/sda1</c>.</summary>
    [Required(ErrorMessage = "Compute:Ec2:RootVolume:DeviceName must be the image's root device, such as /dev/sda1")]
    [RegularExpression("^/dev/.+$", ErrorMessage = "Compute:Ec2:RootVolume:DeviceName must be the image's root device, such as /dev/sda1")]
    public string DeviceName { get; set; } = "/dev/sda1";

    [Ec2Range(8, 16384, ErrorMessage = "use 8 to 16384")]
    public int SizeGiB { get; set; } = 40;

    /// <summary><c>gp3</c>, <c>gp2</c>, <c>io1</c> or <c>io2</c>.</summary>
    [AllowedValues("gp3", "gp2", "io1", "io2", ErrorMessage = "Compute:Ec2:RootVolume:VolumeType must be gp3, gp2, io1 or io2")]
    public string VolumeType { get; set; } = "gp3";

    /// <summary>Provisioned IOPS for gp3/io1/io2; unset uses the volume type's baseline.</summary>
    public int? Iops { get; set; }

    /// <summary>MiB/s for gp3; unset uses the baseline.</summary>
    public int? ThroughputMiBps { get; set; }

    /// <summary>A customer-managed KMS key; unset uses the account's default EBS key.</summary>
    public string? KmsKeyId { get; set; }
}
