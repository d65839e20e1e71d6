using Microsoft.Extensions.Options;

namespace Builtiful.GitHub;

/// <summary>Refuses to start App mode without an App id, a usable private key or a sane API URL.</summary>
internal sealed class GitHubAppOptionsValidation : IValidateOptions<GitHubAppOptions>
{
    public ValidateOptionsResult Validate(string? name, GitHubAppOptions options)
    {
        var failures = new List<string>();
        if (string.IsNullOrWhiteSpace(options.AppId))
        {
            failures.Add("GitHub:Mode is App but GitHub:AppId is not set: the GitHub App's id (or client id) is required.");
        }

        if (options.ApiUrl is not { IsAbsoluteUri: true } url || (url.Scheme != Uri.UriSchemeHttps && url.Scheme != Uri.UriSchemeHttp))
        {
            failures.Add($"GitHub:ApiUrl must be an absolute http(s) URL such as https://api.github.com; it is '{options.ApiUrl}'.");
        }

        if (string.IsNullOrWhiteSpace(options.WorkFolder))
        {
            failures.Add("GitHub:WorkFolder must not be empty.");
        }

        if (options.MaxAttempts < 1)
        {
            failures.Add("GitHub:MaxAttempts must be at least 1.");
        }

        if (options.TokenRefreshMargin < TimeSpan.Zero || options.TokenRefreshMargin >= TimeSpan.FromMinutes(50))
        {
            failures.Add("GitHub:TokenRefreshMargin must be between 0 and 50 minutes (installation tokens live one hour).");
        }

        if (options.MaxRateLimitWait < TimeSpan.Zero || options.RequestTimeout <= TimeSpan.Zero)
        {
            failures.Add("GitHub:MaxRateLimitWait must not be negative and GitHub:RequestTimeout must be positive.");
        }

        if (options.RedeliveryWindow <= TimeSpan.Zero || options.MaxDeliveryAttempts < 1)
        {
            failures.Add("GitHub:RedeliveryWindow must be positive and GitHub:MaxDeliveryAttempts at least 1.");
        }

        try
        {
            AppPrivateKey.Load(options).Dispose();
        }
        catch (AppKeyException ex)
        {
            failures.Add(ex.Message);
        }

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }
}
