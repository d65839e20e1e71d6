namespace Builtiful.Compute.Ec2.Options;

/// <summary>Where the runner image keeps the GitHub Actions runner, and which user runs it.</summary>
public sealed class RunnerBootstrapOptions
{
    public string Directory { get; set; } = "/opt/actions-runner";

    public string User { get; set; } = "runner";
}
