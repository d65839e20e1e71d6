using System.ComponentModel.DataAnnotations;

namespace Builtiful.GitHub;

/// <summary>
/// Configuration section <c>GitHub</c> as the GitHub App client reads it (<see cref="GitHubOptions"/> holds the
/// webhook secret and the mode from the same section). In the embedded default (<c>GitHub:Mode</c> = <c>Simulated</c>) the
/// host fills in ApiUrl, AppId and PrivateKey from the simulated GitHub it talks to.
/// </summary>
public sealed class GitHubAppOptions
{
    public const string Section = "GitHub";

    /// <summary>REST API root; GitHub Enterprise Server uses <c>https://HOST/api/v3</c>.</summary>
    [Required(ErrorMessage = "GitHub:ApiUrl is required, e.g. https://api.github.com.")]
    public Uri ApiUrl { get; set; } = new("https://api.github.com");

    /// <summary>The App's id (or client id): the JWT's issuer.</summary>
    [Required(ErrorMessage = "GitHub:Mode is App but GitHub:AppId is not set: the GitHub App's id (or client id) is required.")]
    public string? AppId { get; set; }

    /// <summary>A PEM file holding the App's RSA private key; set this or <see cref="PrivateKey"/>.</summary>
    public string? PrivateKeyPath { get; set; }

    /// <summary>The App's RSA private key as PEM text; never logged, never persisted.</summary>
    public string? PrivateKey { get; set; }

    /// <summary>The runner's work folder on the VM, sent with every just-in-time config.</summary>
    [Required(ErrorMessage = "GitHub:WorkFolder must not be empty.")]
    public string WorkFolder { get; set; } = "_work";

    /// <summary>A cached installation token is replaced this long before GitHub says it expires.</summary>
    [Range(typeof(TimeSpan), "00:00:00", "00:50:00", MaximumIsExclusive = true)]
    public TimeSpan TokenRefreshMargin { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>Longest pause for a rate limit inside one call; a longer one fails fast so the caller can retry later.</summary>
    [Range(typeof(TimeSpan), "00:00:00", "01:00:00")]
    public TimeSpan MaxRateLimitWait { get; set; } = TimeSpan.FromSeconds(20);

    /// <summary>Attempts per call when GitHub throttles or answers 5xx; refusals (4xx) are never retried.</summary>
    [Range(1, 10)]
    public int MaxAttempts { get; set; } = 3;

    /// <summary>Upper bound for one HTTP exchange with GitHub.</summary>
    [Range(typeof(TimeSpan), "00:00:00", "00:10:00", MinimumIsExclusive = true)]
    public TimeSpan RequestTimeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>Upper bound for one call, all attempts and pauses included.</summary>
    [Range(typeof(TimeSpan), "00:00:00", "01:00:00", MinimumIsExclusive = true)]
    public TimeSpan TotalTimeout { get; set; } = TimeSpan.FromMinutes(2);

    /// <summary>How far back failed webhook deliveries are redelivered; GitHub keeps them for three days.</summary>
    [Range(typeof(TimeSpan), "00:00:00", "3.00:00:00", MinimumIsExclusive = true)]
    public TimeSpan RedeliveryWindow { get; set; } = TimeSpan.FromDays(3);

    /// <summary>A delivery that has failed this many times (first attempt included) is not redelivered again.</summary>
    [Range(1, 100)]
    public int MaxDeliveryAttempts { get; set; } = 5;
}
