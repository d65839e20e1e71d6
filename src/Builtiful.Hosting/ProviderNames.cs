namespace Builtiful.Hosting;

/// <summary>The values of <c>Compute:Provider</c> and <c>GitHub:Mode</c> that hosts choose providers by.</summary>
public static class ProviderNames
{
    public const string ComputeKey = "Compute:Provider";
    public const string GitHubModeKey = "GitHub:Mode";

    /// <summary>Amazon EC2: the production compute provider.</summary>
    public const string Ec2 = "Ec2";

    /// <summary>The simulated cloud, or GitHub world, of the embedded host.</summary>
    public const string Simulated = "Simulated";

    /// <summary>A real GitHub App: the production GitHub mode.</summary>
    public const string GitHubApp = "App";
}
