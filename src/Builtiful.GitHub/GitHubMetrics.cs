using System.Diagnostics.Metrics;

namespace Builtiful.GitHub;

/// <summary>
/// Meter <c>Builtiful.GitHub</c>: calls, throttles, pauses and the remaining request budget, labelled by the kind of
/// budget (<c>app</c>, the App's own JWT calls, or <c>installation</c>) and never by installation: one series per
/// customer would grow without bound and name customers in the monitoring system.
/// </summary>
public sealed class GitHubMetrics
{
    public const string MeterName = "Builtiful.GitHub";

    public GitHubMetrics(IMeterFactory meters, RateLimitLedger ledger)
    {
        ArgumentNullException.ThrowIfNull(meters);
        ArgumentNullException.ThrowIfNull(ledger);
        var meter = meters.Create(MeterName);
        Calls = meter.CreateCounter<long>("builtiful.github.calls", "{call}", "HTTP calls to GitHub's REST API, by operation and status code.");
        Throttles = meter.CreateCounter<long>("builtiful.github.throttles", "{response}", "Responses in which GitHub throttled us (primary or secondary rate limit), by budget (app or installation) and kind.");
        Pauses = meter.CreateCounter<long>("builtiful.github.rate_limit.pauses", "{pause}", "Times a call waited for a rate-limit reset or a Retry-After before going out, by budget (app or installation).");
        meter.CreateObservableGauge(
            "builtiful.github.rate_limit.remaining",
            () => Lowest(ledger.Remaining()),
            "{request}",
            "Requests left in GitHub's current rate-limit window: the App's own (budget=app) and the lowest of any installation's (budget=installation).");
    }

    /// <summary>The label value for a ledger bucket: its kind, not its installation.</summary>
    internal static KeyValuePair<string, object?> Budget(string bucket) =>
        new("budget", bucket == RateLimitLedger.AppBucket ? RateLimitLedger.AppBucket : "installation");

    private static IEnumerable<Measurement<long>> Lowest(IReadOnlyList<KeyValuePair<string, long>> remaining) =>
        remaining.GroupBy(b => Budget(b.Key).Value).Select(g => new Measurement<long>(g.Min(b => b.Value), new KeyValuePair<string, object?>("budget", g.Key)));

    internal Counter<long> Calls { get; }

    internal Counter<long> Throttles { get; }

    internal Counter<long> Pauses { get; }
}
