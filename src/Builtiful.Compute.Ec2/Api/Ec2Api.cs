using Amazon.EC2;
using Amazon.EC2.Model;
using Builtiful.Compute.Ec2.Options;
using Builtiful.Retries;
using Microsoft.Extensions.Logging;

namespace Builtiful.Compute.Ec2.Api;

/// <summary>
/// EC2 for one account and region, as Builtiful calls it: every request first takes a token from the silo's
/// bucket for its kind, and <c>RequestLimitExceeded</c> is retried with exponential backoff and full jitter.
/// The SDK's own retries are off (see <see cref="Ec2ClientFactory"/>), so this is the only retry loop that
/// throttling meets. Idempotent reads and terminations are also resent after a 5xx or a lost answer;
/// RunInstances is not: its unknown outcomes are resolved by the launcher, which knows the token.
/// </summary>
public sealed partial class Ec2Api(
    string target,
    IAmazonEC2 client,
    Ec2ApiBuckets buckets,
    Ec2Options options,
    TimeProvider time,
    ILogger logger)
{
    public string Target { get; } = target;

    public Ec2ApiBuckets Buckets { get; } = buckets;

    /// <summary><paramref name="budget"/> takes a token of the cluster's launch budget before each send, resends after throttling included.</summary>
    public Task<RunInstancesResponse> RunInstancesAsync(RunInstancesRequest request, Func<CancellationToken, ValueTask> budget, CancellationToken cancellationToken) =>
        CallAsync("RunInstances", Buckets.RunInstances, async ct =>
        {
            await budget(ct);
            return await client.RunInstancesAsync(request, ct);
        }, resendUnknown: false, cancellationToken);

    public Task<TerminateInstancesResponse> TerminateInstancesAsync(TerminateInstancesRequest request, CancellationToken cancellationToken) =>
        CallAsync("TerminateInstances", Buckets.TerminateInstances, ct => client.TerminateInstancesAsync(request, ct), resendUnknown: true, cancellationToken);

    public Task<DescribeInstancesResponse> DescribeInstancesAsync(DescribeInstancesRequest request, CancellationToken cancellationToken) =>
        CallAsync("DescribeInstances", Buckets.Describe, ct => client.DescribeInstancesAsync(request, ct), resendUnknown: true, cancellationToken);

    public Task<DescribeSubnetsResponse> DescribeSubnetsAsync(DescribeSubnetsRequest request, CancellationToken cancellationToken) =>
        CallAsync("DescribeSubnets", Buckets.Describe, ct => client.DescribeSubnetsAsync(request, ct), resendUnknown: true, cancellationToken);

    private async Task<T> CallAsync<T>(string action, RequestBucket bucket, Func<CancellationToken, Task<T>> call, bool resendUnknown, CancellationToken cancellationToken)
    {
        var throttled = 0;
        var unknown = 0;
        var throttleDelay = TimeSpan.Zero;
        var unknownDelay = TimeSpan.Zero;
        while (true)
        {
            await bucket.AcquireAsync(cancellationToken);
            try
            {
                return await call(cancellationToken);
            }
            catch (Exception ex) when (Ec2Errors.Classify(ex, cancellationToken) == Ec2Failure.Throttled && throttled < options.ThrottleRetries)
            {
                throttled++;
                Ec2Metrics.RecordThrottle(action, Target);
                throttleDelay = options.ThrottleBackoff.Delay(throttled, throttleDelay, Random.Shared);
                LogThrottled(logger, action, Target, throttled, options.ThrottleRetries, throttleDelay.TotalMilliseconds);
                await Task.Delay(throttleDelay, time, cancellationToken);
            }
            catch (Exception ex) when (resendUnknown && Ec2Errors.Classify(ex, cancellationToken) == Ec2Failure.Unknown && unknown < options.UnknownOutcomeRetries)
            {
                unknown++;
                unknownDelay = options.UnknownOutcomeBackoff.Delay(unknown, unknownDelay, Random.Shared);
                LogResent(logger, action, Target, unknown, Ec2Errors.Describe(ex));
                await Task.Delay(unknownDelay, time, cancellationToken);
            }
            catch (Exception ex) when (Ec2Errors.Classify(ex, cancellationToken) == Ec2Failure.Throttled)
            {
                Ec2Metrics.RecordThrottle(action, Target);
                throw new Ec2ThrottledException($"{action} in {Target} still rate-limited after {throttled + 1} tries ({Ec2Errors.Describe(ex)})", ex);
            }
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "EC2 {Action} in {Target} rate-limited (retry {Retry} of {MaxRetries}); backing off {DelayMs:F0} ms")]
    private static partial void LogThrottled(ILogger logger, string action, string target, int retry, int maxRetries, double delayMs);

    [LoggerMessage(Level = LogLevel.Warning, Message = "EC2 {Action} in {Target} had no clear answer (retry {Retry}): {Error}")]
    private static partial void LogResent(ILogger logger, string action, string target, int retry, string error);
}
