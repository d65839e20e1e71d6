using System.Globalization;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Builtiful.GitHub;

/// <summary>
/// GitHub never redelivers a webhook by itself: this asks it to redeliver every recent delivery that failed and
/// has not since been delivered, so a gateway outage loses no job. Meant to run periodically (an Orleans reminder).
/// </summary>
public sealed partial class DeliveryRecovery(
    GitHubApi api,
    IOptions<GitHubAppOptions> options,
    [FromKeyedServices(BuiltifulClock.Key)] TimeProvider time,
    ILogger<DeliveryRecovery> logger) : Builtiful.Providers.ILostDeliveryRecovery
{
    private const int MaxPages = 50;

    async Task<string> Builtiful.Providers.ILostDeliveryRecovery.RecoverLostDeliveriesAsync(CancellationToken cancellationToken)
    {
        var summary = await RecoverAsync(cancellationToken);
        return $"{summary.Examined} deliveries examined, {summary.Redelivered.Count} redelivered, {summary.Failures.Count} could not be redelivered";
    }

    public async Task<DeliveryRecoverySummary> RecoverAsync(CancellationToken cancellationToken)
    {
        var settings = options.Value;
        var windowStart = time.GetUtcNow() - settings.RedeliveryWindow;
        var first = new GitHubCall(HttpMethod.Get, "app/hook/deliveries?per_page=100", "list-deliveries");

        // Newest first: once a page reaches past the window, older pages hold nothing to redeliver.
        var deliveries = await api.ListAsync(
            first,
            GitHubJson.Default.ListHookDelivery,
            page => page,
            enough: page => page.Any(d => d.DeliveredAt < windowStart),
            MaxPages,
            (call, response) => GitHubApi.Failure(call, response, response.Status switch
            {
                System.Net.HttpStatusCode.NotFound or System.Net.HttpStatusCode.Forbidden => "The App's webhook deliveries are not visible with its JWT: check GitHub:AppId and that the App has a webhook.",
                _ => null,
            }),
            cancellationToken);

        var redelivered = new List<long>();
        var failures = new List<string>();
        int delivered = 0, outsideWindow = 0, gaveUp = 0;
        foreach (var attempts in deliveries.GroupBy(d => d.Guid, StringComparer.Ordinal))
        {
            if (attempts.Any(Succeeded))
            {
                if (attempts.Any(d => !Succeeded(d)))
                {
                    delivered++;
                }

                continue;
            }

            var latest = attempts.MaxBy(d => d.DeliveredAt)!;
            if (latest.DeliveredAt < windowStart)
            {
                outsideWindow++;
                continue;
            }

            if (attempts.Count() >= settings.MaxDeliveryAttempts)
            {
                gaveUp++;
                continue;
            }

            var call = new GitHubCall(HttpMethod.Post, $"app/hook/deliveries/{latest.Id.ToString(CultureInfo.InvariantCulture)}/attempts", "redeliver");
            try
            {
                var response = await api.SendAsync(call, cancellationToken);
                if (!response.IsSuccess)
                {
                    throw GitHubApi.Failure(call, response);
                }

                redelivered.Add(latest.Id);
                LogRedelivered(logger, latest.Id, latest.Guid, latest.Event, latest.Action, latest.StatusCode);
            }
            catch (GitHubApiException ex)
            {
                // One delivery GitHub will not redeliver must not keep the others from being redelivered.
                failures.Add(ex.Message);
                LogRedeliveryFailed(logger, latest.Id, latest.Guid, ex.Message);
            }
        }

        return new DeliveryRecoverySummary(deliveries.Count, redelivered, delivered, outsideWindow, gaveUp, failures);
    }

    private static bool Succeeded(HookDelivery delivery) =>
        delivery.StatusCode is >= 200 and < 300 || string.Equals(delivery.Status, "OK", StringComparison.OrdinalIgnoreCase);

    [LoggerMessage(Level = LogLevel.Information, Message = "Delivery {DeliveryId} ({Guid}, {Event}.{Action}) had failed with {StatusCode}; asked GitHub to redeliver it")]
    private static partial void LogRedelivered(ILogger logger, long deliveryId, string guid, string? @event, string? action, int statusCode);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Delivery {DeliveryId} ({Guid}) could not be redelivered: {Error}")]
    private static partial void LogRedeliveryFailed(ILogger logger, long deliveryId, string guid, string error);
}

/// <summary>What one recovery pass did.</summary>
/// <param name="Examined">Deliveries read from GitHub.</param>
/// <param name="Redelivered">Ids of the failed deliveries GitHub was asked to redeliver.</param>
/// <param name="SkippedDeliveredSince">Failed deliveries whose event later arrived (same guid answered OK).</param>
/// <param name="SkippedOutsideWindow">Failed deliveries older than <see cref="GitHubAppOptions.RedeliveryWindow"/>.</param>
/// <param name="SkippedGaveUp">Deliveries that failed <see cref="GitHubAppOptions.MaxDeliveryAttempts"/> times already.</param>
/// <param name="Failures">Why GitHub would not redeliver some; they are tried again on the next pass.</param>
public sealed record DeliveryRecoverySummary(
    int Examined,
    IReadOnlyList<long> Redelivered,
    int SkippedDeliveredSince,
    int SkippedOutsideWindow,
    int SkippedGaveUp,
    IReadOnlyList<string> Failures);
