using Microsoft.Extensions.Options;

namespace Builtiful.GitHub;

/// <summary>Checks the data annotations of <see cref="GitHubAppOptions"/>, generated at compile time; run by <see cref="GitHubAppOptionsValidation"/>.</summary>
[OptionsValidator]
internal sealed partial class GitHubAppOptionsAnnotations : IValidateOptions<GitHubAppOptions>;

/// <summary>Checks the data annotations of <see cref="GitHubOptions"/>, generated at compile time.</summary>
[OptionsValidator]
internal sealed partial class GitHubOptionsAnnotations : IValidateOptions<GitHubOptions>;

/// <summary>The annotations (their failures named by setting), then what annotations cannot say: the API URL's scheme, a usable private key from one of two settings, timeouts that fit together.</summary>
internal sealed class GitHubAppOptionsValidation : IValidateOptions<GitHubAppOptions>
{
    public ValidateOptionsResult Validate(string? name, GitHubAppOptions options)
    {
        // The generated validator names the property; the operator sets it as GitHub:<property>.
        var annotations = new GitHubAppOptionsAnnotations().Validate(name, options);
        var failures = annotations.Failed
            ? annotations.Failures.Select(f => f.StartsWith(GitHubAppOptions.Section + ":", StringComparison.Ordinal) ? f : $"{GitHubAppOptions.Section}:{f}").ToList()
            : [];
        if (options.ApiUrl is { } url && (!url.IsAbsoluteUri || (url.Scheme != Uri.UriSchemeHttps && url.Scheme != Uri.UriSchemeHttp)))
        {
            failures.Add($"GitHub:ApiUrl must be an absolute http(s) URL such as https://api.github.com; it is '{options.ApiUrl}'.");
        }

        if (options.TotalTimeout < options.RequestTimeout)
        {
            failures.Add($"GitHub:TotalTimeout ({options.TotalTimeout}) must not be shorter than GitHub:RequestTimeout ({options.RequestTimeout}).");
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
