using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization.Metadata;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Polly.Timeout;

namespace Builtiful.GitHub;

/// <summary>
/// The one way Builtiful talks to GitHub's REST API: authenticates every call (App JWT or installation token),
/// waits out an exhausted rate limit, and sends through the named client's retry policy (<see cref="GitHubResilience"/>).
/// Tokens, JWTs and response bodies are never logged.
/// </summary>
public sealed partial class GitHubApi(
    IHttpClientFactory httpClients,
    GitHubAppJwt jwt,
    InstallationTokens tokens,
    RateLimitLedger ledger,
    GitHubMetrics metrics,
    IOptions<GitHubAppOptions> options,
    [FromKeyedServices(BuiltifulClock.Key)] TimeProvider time,
    ILogger<GitHubApi> logger)
{
    public const string HttpClientName = "Builtiful.GitHub";

    private GitHubAppOptions Options => options.Value;

    /// <summary>Sends a call, pausing and retrying as GitHub's limits require; the caller interprets the final status.</summary>
    internal async Task<GitHubResponse> SendAsync(GitHubCall call, CancellationToken cancellationToken)
    {
        var bucket = call.InstallationId is { } installation ? installation.ToString(CultureInfo.InvariantCulture) : RateLimitLedger.AppBucket;
        await AwaitBudgetAsync(call, bucket, cancellationToken);
        var response = await SendOnceAsync(call, bucket, cancellationToken);
        if (response.Status == HttpStatusCode.Unauthorized && call.InstallationId is { } rejected)
        {
            // The token may have been revoked early: exchange a fresh one once, then take GitHub's word.
            tokens.Reject(rejected, response.Bearer);
            response = await SendOnceAsync(call, bucket, cancellationToken);
        }

        return response;
    }

    private async Task<GitHubResponse> SendOnceAsync(GitHubCall call, string bucket, CancellationToken cancellationToken)
    {
        var bearer = call.InstallationId is { } id
            ? await tokens.GetAsync(id, ExchangeAsync, cancellationToken)
            : jwt.Issue();
        var attempts = new GitHubAttempts(bucket, call.Operation);
        try
        {
            using var request = new HttpRequestMessage(call.Method, call.Target);
            request.Options.Set(GitHubAttempts.Key, attempts);
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", bearer);
            if (call.JsonBody is { } body)
            {
                request.Content = new StringContent(body, Encoding.UTF8, "application/json");
            }

            using var answer = await httpClients.CreateClient(HttpClientName).SendAsync(request, cancellationToken);
            var text = await answer.Content.ReadAsStringAsync(cancellationToken);
            if (attempts.Throttle is { } throttle)
            {
                throw new GitHubRateLimitedException(
                    throttle.Duration > Options.MaxRateLimitWait
                        ? $"GitHub throttled {call.Endpoint} ({throttle.Kind} rate limit, {Describe(bucket)}) until {throttle.Until:O}, longer than GitHub:MaxRateLimitWait ({Options.MaxRateLimitWait.TotalSeconds:0} s)."
                        : $"GitHub still throttled {call.Endpoint} ({throttle.Kind} rate limit, {Describe(bucket)}) after {attempts.Count} attempts; it accepts calls again at {throttle.Until:O}.",
                    call.Endpoint, answer.StatusCode, throttle.Until);
            }

            return new GitHubResponse(answer.StatusCode, text, NextLink(answer.Headers), bearer);
        }
        catch (TimeoutRejectedException ex)
        {
            throw new GitHubApiException(
                $"GitHub did not answer {call.Endpoint} in time ({attempts.Count} attempts; GitHub:RequestTimeout is {Options.RequestTimeout.TotalSeconds:0} s per attempt, GitHub:TotalTimeout {Options.TotalTimeout.TotalSeconds:0} s in all).",
                call.Endpoint, null, isPermanent: false, ex);
        }
        catch (HttpRequestException ex)
        {
            throw new GitHubApiException(
                $"GitHub did not answer {call.Endpoint} after {attempts.Count} attempts: {ex.Message}", call.Endpoint, null, isPermanent: false, ex);
        }
    }

    /// <summary>Follows <c>Link: rel="next"</c> from the first page, never off the configured API host.</summary>
    internal async Task<IReadOnlyList<T>> ListAsync<TPage, T>(
        GitHubCall first,
        JsonTypeInfo<TPage> page,
        Func<TPage, IEnumerable<T>> items,
        Func<IReadOnlyList<T>, bool>? enough,
        int maxPages,
        Func<GitHubCall, GitHubResponse, Exception> refusal,
        CancellationToken cancellationToken)
    {
        var all = new List<T>();
        var call = first;
        for (var pages = 1; ; pages++)
        {
            var response = await SendAsync(call, cancellationToken);
            if (!response.IsSuccess)
            {
                throw refusal(call, response);
            }

            var batch = items(response.Read(page, call)).ToList();
            all.AddRange(batch);
            if (response.Next is not { } next || batch.Count == 0 || pages >= maxPages || (enough?.Invoke(batch) ?? false))
            {
                return all;
            }

            if (!SameOrigin(next))
            {
                throw new GitHubApiException(
                    $"GitHub's next-page link for {call.Endpoint} points to {next.GetLeftPart(UriPartial.Authority)}, not to GitHub:ApiUrl; not following it with our credentials.",
                    call.Endpoint, response.Status, isPermanent: true);
            }

            call = call with { Target = next };
        }
    }

    /// <summary>The standard error for an unsuccessful answer: refusals for 4xx, transient failures otherwise.</summary>
    internal static GitHubApiException Failure(GitHubCall call, GitHubResponse response, string? explanation = null) =>
        (int)response.Status is >= 400 and < 500
            ? new GitHubRequestRefusedException(call.Endpoint, response.Status, response.ErrorMessage(), explanation)
            : new GitHubApiException(
                $"GitHub answered {call.Endpoint} with {(int)response.Status} {response.Status}{(response.ErrorMessage() is { } m ? $": \"{m}\"" : "")}.",
                call.Endpoint, response.Status, isPermanent: false);

    private async Task AwaitBudgetAsync(GitHubCall call, string bucket, CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow();
        if (ledger.NextCallAt(bucket, now) is not { } at)
        {
            return;
        }

        var wait = at - now;
        if (wait > Options.MaxRateLimitWait)
        {
            throw new GitHubRateLimitedException(
                $"GitHub's rate limit for {Describe(bucket)} is exhausted until {at:O} ({wait.TotalSeconds:0} s away); " +
                $"{call.Endpoint} does not wait longer than GitHub:MaxRateLimitWait ({Options.MaxRateLimitWait.TotalSeconds:0} s).",
                call.Endpoint, null, at);
        }

        metrics.Pauses.Add(1, GitHubMetrics.Budget(bucket));
        LogPausing(logger, call.Endpoint, bucket, wait);
        await Task.Delay(wait, time, cancellationToken);
    }

    private async Task<InstallationAccessToken> ExchangeAsync(long installationId, CancellationToken cancellationToken)
    {
        var call = new GitHubCall(HttpMethod.Post, $"app/installations/{installationId.ToString(CultureInfo.InvariantCulture)}/access_tokens", "access-token");
        var response = await SendAsync(call, cancellationToken);
        if (!response.IsSuccess)
        {
            throw Failure(call, response, response.Status switch
            {
                HttpStatusCode.Unauthorized => "GitHub did not accept the App's JWT: check GitHub:AppId and the private key belong to the same App, and this machine's clock.",
                HttpStatusCode.NotFound => $"Installation {installationId} does not exist for this App: it was uninstalled, or GitHub:AppId names another App.",
                HttpStatusCode.Forbidden => $"Installation {installationId} is suspended, or the App may not create tokens for it.",
                HttpStatusCode.UnprocessableEntity => "GitHub rejected the token request's content.",
                _ => null,
            });
        }

        var issued = response.Read(GitHubJson.Default.AccessTokenResponse, call);
        if (string.IsNullOrEmpty(issued.Token))
        {
            throw new GitHubApiException($"GitHub answered {call.Endpoint} without a token.", call.Endpoint, response.Status, isPermanent: false);
        }

        LogTokenIssued(logger, installationId, issued.ExpiresAt);
        return new InstallationAccessToken(issued.Token, issued.ExpiresAt);
    }

    private bool SameOrigin(Uri next) =>
        next.IsAbsoluteUri && Uri.Compare(next, Options.ApiUrl, UriComponents.SchemeAndServer, UriFormat.Unescaped, StringComparison.OrdinalIgnoreCase) == 0;

    private static string Describe(string bucket) => bucket == RateLimitLedger.AppBucket ? "the App" : $"installation {bucket}";

    private static Uri? NextLink(HttpResponseHeaders headers)
    {
        if (!headers.TryGetValues("Link", out var values))
        {
            return null;
        }

        foreach (var part in values.SelectMany(v => v.Split(',')))
        {
            var pieces = part.Split(';', StringSplitOptions.TrimEntries);
            if (pieces.Length > 1
                && pieces[0].StartsWith('<') && pieces[0].EndsWith('>')
                && pieces.Skip(1).Any(p => p.Replace(" ", "", StringComparison.Ordinal).Equals("rel=\"next\"", StringComparison.OrdinalIgnoreCase))
                && Uri.TryCreate(pieces[0][1..^1], UriKind.Absolute, out var next))
            {
                return next;
            }
        }

        return null;
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "GitHub {Endpoint} waits {Wait} for the rate limit of {Budget}")]
    private static partial void LogPausing(ILogger logger, string endpoint, string budget, TimeSpan wait);

    [LoggerMessage(Level = LogLevel.Information, Message = "Installation {InstallationId}: new access token, valid until {ExpiresAt:O}")]
    private static partial void LogTokenIssued(ILogger logger, long installationId, DateTimeOffset expiresAt);
}

/// <summary>One REST call: relative to GitHub:ApiUrl (or an absolute next-page link), as the App or an installation.</summary>
internal sealed record GitHubCall(HttpMethod Method, Uri Target, string Operation)
{
    public GitHubCall(HttpMethod method, string relativePath, string operation)
        : this(method, new Uri(relativePath, UriKind.Relative), operation)
    {
    }

    /// <summary>Null: authenticate as the App with a JWT.</summary>
    public long? InstallationId { get; init; }

    public string? JsonBody { get; init; }

    /// <summary>Method and path without query, for messages: <c>POST /orgs/acme/actions/runners/generate-jitconfig</c>.</summary>
    public string Endpoint
    {
        get
        {
            var path = Target.IsAbsoluteUri ? Target.AbsolutePath : "/" + Target.OriginalString.Split('?')[0].TrimStart('/');
            return $"{Method.Method} {path}";
        }
    }
}

/// <summary>A finished exchange: status, body and the next-page link. The body may hold a credential: never log it.</summary>
internal sealed class GitHubResponse(HttpStatusCode status, string body, Uri? next, string bearer = "")
{
    private const int MaxMessageLength = 400;

    public HttpStatusCode Status { get; } = status;

    public Uri? Next { get; } = next;

    /// <summary>The credential the call went out with, so a 401 can reject exactly that token; never log it.</summary>
    internal string Bearer { get; } = bearer;

    public bool IsSuccess => (int)Status is >= 200 and < 300;

    public T Read<T>(JsonTypeInfo<T> shape, GitHubCall call)
    {
        try
        {
            return JsonSerializer.Deserialize(body, shape)
                ?? throw new JsonException("empty body");
        }
        catch (JsonException ex)
        {
            // The body is not quoted: a success body may carry a credential.
            throw new GitHubApiException($"GitHub's answer to {call.Endpoint} is not the documented JSON ({ex.GetType().Name}).", call.Endpoint, Status, isPermanent: false);
        }
    }

    /// <summary>GitHub's error <c>message</c> plus any validation errors; null when the body is not GitHub's error JSON.</summary>
    public string? ErrorMessage()
    {
        if (IsSuccess || string.IsNullOrWhiteSpace(body))
        {
            return null;
        }

        try
        {
            using var document = JsonDocument.Parse(body);
            if (document.RootElement.ValueKind != JsonValueKind.Object)
            {
                return null;
            }

            var parts = new List<string>();
            if (document.RootElement.TryGetProperty("message", out var message) && message.ValueKind == JsonValueKind.String)
            {
                parts.Add(message.GetString()!);
            }

            if (document.RootElement.TryGetProperty("errors", out var errors) && errors.ValueKind == JsonValueKind.Array)
            {
                foreach (var error in errors.EnumerateArray().Take(3))
                {
                    parts.Add(error.ValueKind switch
                    {
                        JsonValueKind.String => error.GetString()!,
                        JsonValueKind.Object when error.TryGetProperty("message", out var m) && m.ValueKind == JsonValueKind.String => m.GetString()!,
                        JsonValueKind.Object => string.Join(' ', error.EnumerateObject().Select(p => $"{p.Name}={p.Value}")),
                        _ => error.ToString(),
                    });
                }
            }

            var text = string.Join("; ", parts.Where(p => !string.IsNullOrWhiteSpace(p)));
            return text.Length == 0 ? null : text.Length <= MaxMessageLength ? text : text[..MaxMessageLength] + "…";
        }
        catch (JsonException)
        {
            return null;
        }
    }
}
