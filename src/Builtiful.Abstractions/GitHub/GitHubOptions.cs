using System.ComponentModel.DataAnnotations;

namespace Builtiful.GitHub;

/// <summary>Configuration section <c>GitHub</c>.</summary>
public sealed class GitHubOptions
{
    public const string Section = "GitHub";

    /// <summary>The secret GitHub signs deliveries with; read from configuration or the environment, never stored.</summary>
    public string? WebhookSecret { get; set; }

    /// <summary><c>Simulated</c> (the default on a fresh machine) or <c>App</c>.</summary>
    [AllowedValues("Simulated", "App", ErrorMessage = "GitHub:Mode must be 'Simulated' (the default) or 'App'.")]
    public string Mode { get; set; } = "Simulated";
}
