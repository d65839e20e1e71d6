using System.Net;

namespace Builtiful.GitHub;

/// <summary>
/// A GitHub call that did not succeed. <see cref="IsPermanent"/> tells callers whether trying again can help:
/// when it is true, GitHub refused the request itself (permissions, a missing installation or organisation,
/// invalid content) and retrying only repeats the refusal.
/// </summary>
public class GitHubApiException : Exception, Builtiful.Providers.IProviderFailure
{
    public GitHubApiException()
    {
    }

    public GitHubApiException(string message)
        : base(message)
    {
    }

    public GitHubApiException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    public GitHubApiException(string message, string endpoint, HttpStatusCode? statusCode, bool isPermanent, Exception? innerException = null)
        : base(message, innerException)
    {
        Endpoint = endpoint;
        StatusCode = statusCode;
        IsPermanent = isPermanent;
    }

    /// <summary>Method and path, e.g. <c>POST /orgs/acme/actions/runners/generate-jitconfig</c>.</summary>
    public string? Endpoint { get; }

    /// <summary>GitHub's HTTP status, or null when no answer came.</summary>
    public HttpStatusCode? StatusCode { get; }

    /// <summary>True when retrying cannot help until someone changes the App, its installation or the request.</summary>
    public bool IsPermanent { get; }
}

/// <summary>
/// GitHub answered 4xx. The message says what was refused, GitHub's own words and the likely cause, and is
/// written for the admin API's <c>lastError</c>.
/// </summary>
public sealed class GitHubRequestRefusedException : GitHubApiException
{
    public GitHubRequestRefusedException()
    {
    }

    public GitHubRequestRefusedException(string message)
        : base(message)
    {
    }

    public GitHubRequestRefusedException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    public GitHubRequestRefusedException(string endpoint, HttpStatusCode statusCode, string? gitHubMessage, string? explanation, bool? isPermanent = null)
        : base(Compose(endpoint, statusCode, gitHubMessage, explanation), endpoint, statusCode, isPermanent ?? IsPermanentStatus(statusCode))
    {
        GitHubMessage = gitHubMessage;
    }

    /// <summary>The <c>message</c> (and validation errors) of GitHub's error body, if it sent one.</summary>
    public string? GitHubMessage { get; }

    /// <summary>Statuses whose repetition is certain: bad request, credentials, permissions, absence, invalid content.</summary>
    public static bool IsPermanentStatus(HttpStatusCode statusCode) => statusCode is HttpStatusCode.BadRequest
        or HttpStatusCode.Unauthorized or HttpStatusCode.Forbidden or HttpStatusCode.NotFound or HttpStatusCode.Gone
        or HttpStatusCode.UnprocessableEntity;

    private static string Compose(string endpoint, HttpStatusCode statusCode, string? gitHubMessage, string? explanation)
    {
        var text = $"GitHub refused {endpoint} with {(int)statusCode} {statusCode}";
        text += string.IsNullOrWhiteSpace(gitHubMessage) ? "." : $": \"{gitHubMessage}\".";
        return string.IsNullOrWhiteSpace(explanation) ? text : $"{text} {explanation}";
    }
}

/// <summary>
/// GitHub's rate limit for this installation (or the App) would need a longer pause than
/// <see cref="GitHubAppOptions.MaxRateLimitWait"/>, or still throttled after every attempt. Not permanent:
/// try again at <see cref="RetryAt"/>.
/// </summary>
public sealed class GitHubRateLimitedException : GitHubApiException
{
    public GitHubRateLimitedException()
    {
    }

    public GitHubRateLimitedException(string message)
        : base(message)
    {
    }

    public GitHubRateLimitedException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    public GitHubRateLimitedException(string message, string endpoint, HttpStatusCode? statusCode, DateTimeOffset retryAt)
        : base(message, endpoint, statusCode, isPermanent: false)
    {
        RetryAt = retryAt;
    }

    /// <summary>When GitHub will accept calls on this budget again.</summary>
    public DateTimeOffset RetryAt { get; }
}
