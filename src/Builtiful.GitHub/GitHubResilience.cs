using System.Globalization;
using System.Net;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Http.Resilience;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Polly;
using Polly.Timeout;

namespace Builtiful.GitHub;

/// <summary>
/// The one retry policy for GitHub's REST API (Microsoft.Extensions.Http.Resilience): a total timeout; retries of
/// throttles, 5xx and unanswered attempts, after the pause GitHub names (Retry-After, x-ratelimit-reset) or a
/// jittered exponential backoff; a timeout per attempt. Refusals (any other 4xx) are never retried.
/// </summary>
internal static partial class GitHubResilience
{
    public const string PipelineName = "github";

    public static IHttpClientBuilder AddGitHubResilience(this IHttpClientBuilder client)
    {
        client.AddResilienceHandler(PipelineName, static (pipeline, context) =>
        {
            var options = context.ServiceProvider.GetRequiredService<IOptions<GitHubAppOptions>>().Value;
            var metrics = context.ServiceProvider.GetRequiredService<GitHubMetrics>();
            var logger = context.ServiceProvider.GetRequiredService<ILogger<GitHubApi>>();

            // Backoff, Retry-After and timeouts all run on Builtiful's clock, so a fake clock drives them in tests.
            pipeline.TimeProvider = context.ServiceProvider.GetRequiredKeyedService<TimeProvider>(BuiltifulClock.Key);
            pipeline.AddTimeout(options.TotalTimeout);
            if (options.MaxAttempts > 1)
            {
                pipeline.AddRetry(new HttpRetryStrategyOptions
                {
                    MaxRetryAttempts = options.MaxAttempts - 1,
                    BackoffType = DelayBackoffType.Exponential,
                    UseJitter = true,
                    Delay = TimeSpan.FromSeconds(1),
                    ShouldRetryAfterHeader = false,
                    ShouldHandle = args => ValueTask.FromResult(args.Outcome switch
                    {
                        { Exception: HttpRequestException or TimeoutRejectedException } => true,
                        { Result: { } response } when GitHubAttempts.Of(response)?.Throttle is { } pause => pause.Duration <= options.MaxRateLimitWait,
                        { Result: { } response } => IsServerError(response.StatusCode),
                        _ => false,
                    }),
                    DelayGenerator = args => ValueTask.FromResult(
                        args.Outcome.Result is { } response && GitHubAttempts.Of(response)?.Throttle is { } pause ? pause.Duration : (TimeSpan?)null),
                    OnRetry = args =>
                    {
                        var endpoint = args.Outcome.Result?.RequestMessage is { } request ? GitHubAttempts.Endpoint(request) : "GitHub";
                        if (args.Outcome.Result is { } response && GitHubAttempts.Of(response) is { Throttle: not null } throttled)
                        {
                            metrics.Pauses.Add(1, GitHubMetrics.Budget(throttled.Bucket));
                        }
                        else
                        {
                            LogRetrying(logger, endpoint, args.AttemptNumber + 1, args.Outcome.Result is { } failed
                                ? ((int)failed.StatusCode).ToString(CultureInfo.InvariantCulture)
                                : args.Outcome.Exception?.GetType().Name ?? "no answer", args.RetryDelay);
                        }

                        return ValueTask.CompletedTask;
                    },
                });
            }

            pipeline.AddTimeout(options.RequestTimeout);
        });
        return client;
    }

    private static bool IsServerError(HttpStatusCode status) => status is HttpStatusCode.InternalServerError
        or HttpStatusCode.BadGateway or HttpStatusCode.ServiceUnavailable or HttpStatusCode.GatewayTimeout;

    [LoggerMessage(Level = LogLevel.Warning, Message = "GitHub {Endpoint}: attempt {Attempt} ended with {Outcome}; retrying in {Delay}")]
    private static partial void LogRetrying(ILogger logger, string endpoint, int attempt, string outcome, TimeSpan delay);
}

/// <summary>What the attempts of one call saw, carried on the request so the retry policy and the caller can read it.</summary>
internal sealed class GitHubAttempts(string bucket, string operation)
{
    public static readonly HttpRequestOptionsKey<GitHubAttempts> Key = new("Builtiful.GitHub.Attempts");

    public string Bucket { get; } = bucket;

    public string Operation { get; } = operation;

    public int Count { get; set; }

    /// <summary>The last attempt's throttle: how long GitHub asked us to wait, which limit, and until when.</summary>
    public (TimeSpan Duration, string Kind, DateTimeOffset Until)? Throttle { get; set; }

    public static GitHubAttempts? Of(HttpResponseMessage response) =>
        response.RequestMessage is { } request && request.Options.TryGetValue(Key, out var attempts) ? attempts : null;

    public static string Endpoint(HttpRequestMessage request) =>
        $"{request.Method.Method} {request.RequestUri?.AbsolutePath}";
}

/// <summary>
/// Runs once per attempt, inside the retry policy: counts the call, records GitHub's rate-limit headers in the
/// ledger, and recognises a throttle (403/429 meant as "slow down") and its pause.
/// </summary>
internal sealed partial class GitHubAttemptHandler(
    RateLimitLedger ledger,
    GitHubMetrics metrics,
    [FromKeyedServices(BuiltifulClock.Key)] TimeProvider time,
    ILogger<GitHubApi> logger) : DelegatingHandler
{
    /// <summary>GitHub asks for at least a minute's pause after a secondary limit that names no time.</summary>
    private static readonly TimeSpan UnnamedSecondaryPause = TimeSpan.FromMinutes(1);

    /// <summary>GitHub's reset is whole seconds on GitHub's clock; one more second absorbs rounding and drift.</summary>
    private static readonly TimeSpan ResetSlack = TimeSpan.FromSeconds(1);

    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        var attempts = request.Options.TryGetValue(GitHubAttempts.Key, out var known) ? known : new GitHubAttempts(RateLimitLedger.AppBucket, "unknown");
        attempts.Count++;
        attempts.Throttle = null;
        var operation = new KeyValuePair<string, object?>("operation", attempts.Operation);
        HttpResponseMessage response;
        try
        {
            response = await base.SendAsync(request, cancellationToken);
        }
        catch (Exception ex) when (ex is HttpRequestException or OperationCanceledException)
        {
            metrics.Calls.Add(1, operation, new("status", "unreachable"));
            throw;
        }

        var status = (int)response.StatusCode;
        metrics.Calls.Add(1, operation, new("status", status.ToString(CultureInfo.InvariantCulture)));
        LogCall(logger, GitHubAttempts.Endpoint(request), attempts.Bucket, status);
        ledger.Observe(attempts.Bucket, response.Headers);
        var now = time.GetUtcNow();
        if (await ThrottleAsync(response, now, cancellationToken) is { } pause)
        {
            var until = now + pause.Duration;
            attempts.Throttle = (pause.Duration, pause.Kind, until);
            ledger.Pause(attempts.Bucket, until);
            metrics.Throttles.Add(1, GitHubMetrics.Budget(attempts.Bucket), new("kind", pause.Kind));
            LogThrottled(logger, GitHubAttempts.Endpoint(request), attempts.Bucket, pause.Kind, pause.Duration);
        }

        return response;
    }

    private static async Task<(TimeSpan Duration, string Kind)?> ThrottleAsync(HttpResponseMessage response, DateTimeOffset now, CancellationToken cancellationToken)
    {
        if (response.StatusCode is not (HttpStatusCode.Forbidden or HttpStatusCode.TooManyRequests))
        {
            return null;
        }

        var headers = response.Headers;
        if (headers.RetryAfter is { } retryAfter)
        {
            return (NotNegative(retryAfter.Delta ?? (retryAfter.Date is { } date ? date - now : UnnamedSecondaryPause)), "secondary");
        }

        if (RateLimitLedger.ReadLong(headers, "X-RateLimit-Remaining") == 0)
        {
            var reset = RateLimitLedger.ReadLong(headers, "X-RateLimit-Reset") is { } seconds ? DateTimeOffset.FromUnixTimeSeconds(seconds) : now + UnnamedSecondaryPause;
            return (NotNegative(reset - now + ResetSlack), "primary");
        }

        // A secondary limit without headers says so only in its message; the body is buffered, the caller reads it again.
        if (response.StatusCode == HttpStatusCode.TooManyRequests
            || (await response.Content.ReadAsStringAsync(cancellationToken)).Contains("rate limit", StringComparison.OrdinalIgnoreCase))
        {
            return (UnnamedSecondaryPause, "secondary");
        }

        return null;
    }

    private static TimeSpan NotNegative(TimeSpan delay) => delay < TimeSpan.Zero ? TimeSpan.Zero : delay;

    [LoggerMessage(Level = LogLevel.Debug, Message = "GitHub {Endpoint} ({Budget}) answered {Status}")]
    private static partial void LogCall(ILogger logger, string endpoint, string budget, int status);

    [LoggerMessage(Level = LogLevel.Warning, Message = "GitHub throttled {Endpoint} ({Budget}, {Kind} rate limit) for {Pause}")]
    private static partial void LogThrottled(ILogger logger, string endpoint, string budget, string kind, TimeSpan pause);
}
