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
    public Uri ApiUrl { get; set; } = new("https://api.github.com");

    /// <summary>The App's id (or client id): the JWT's issuer.</summary>
    public string? AppId { get; set; }

    /// <summary>A PEM file holding the App's RSA private key; set this or <see cref="PrivateKey"/>.</summary>
    public string? PrivateKeyPath { get; set; }

    /// <summary>The App's RSA private key as PEM text; never logged, never persisted.</summary>
    public string? PrivateKey { get; set; }

    /// <summary>The runner's work folder on the VM, sent with every just-in-time config.</summary>
    public string WorkFolder { get; set; } = "_work";

    /// <summary>A cached installation token is replaced this long before GitHub says it expires.</summary>
    public TimeSpan TokenRefreshMargin { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>Longest pause for a rate limit inside one call; a longer one fails fast so the caller can retry later.</summary>
    public TimeSpan MaxRateLimitWait { get; set; } = TimeSpan.FromSeconds(20);

    /// <summary>Attempts per call when GitHub throttles or answers 5xx; refusals (4xx) are never retried.</summary>
    public int MaxAttempts { get; set; } = 3;

    /// <summary>Upper bound for one HTTP exchange with GitHub.</summary>
    public TimeSpan RequestTimeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>Upper bound for one call, all attempts and pauses included.</summary>
    public TimeSpan TotalTimeout { get; set; } = TimeSpan.FromMinutes(2);

    /// <summary>How far back failed webhook deliveries are redelivered; GitHub keeps them for three days.</summary>
    public TimeSpan RedeliveryWindow { get; set; } = TimeSpan.FromDays(3);

    /// <summary>A delivery that has failed this many times (first attempt included) is not redelivered again.</summary>
    public int MaxDeliveryAttempts { get; set; } = 5;
}
