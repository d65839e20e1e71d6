using System.ComponentModel.DataAnnotations;

namespace Builtiful.Compute.Ec2.Options;

/// <summary>Where the runner image keeps the GitHub Actions runner, and which user runs it.</summary>
public sealed class RunnerBootstrapOptions
{
    // The directory and user go into the user-data shell script, so only plain shell words are accepted.
    [Required(ErrorMessage = "Compute:Ec2:Runner:Directory must be an absolute path of letters, digits, '.', '_', '-' and '/'")]
    [RegularExpression("^/[A-Za-z0-9._/-]*$", ErrorMessage = "Compute:Ec2:Runner:Directory must be an absolute path of letters, digits, '.', '_', '-' and '/'")]
    public string Directory { get; set; } = "/opt/actions-runner";

    [Required(ErrorMessage = "Compute:Ec2:Runner:User must be a plain user name of letters, digits, '.', '_' and '-'")]
    [RegularExpression("^[A-Za-z0-9._-]+$", ErrorMessage = "Compute:Ec2:Runner:User must be a plain user name of letters, digits, '.', '_' and '-'")]
    public string User { get; set; } = "runner";
}
