using System.Diagnostics.Metrics;

namespace Builtiful.GitHub;

/// <summary>Meter <c>Builtiful.GitHub</c>: calls, throttles, pauses and each installation's remaining request budget.</summary>
public sealed class GitHubMetrics
{
    public const string MeterName = "Builtiful.GitHub";

    public GitHubMetrics(IMeterFactory meters, RateLimitLedger ledger)
    {
        ArgumentNullException.ThrowIfNull(meters);
        ArgumentNullException.ThrowIfNull(ledger);
        var meter = meters.Create(MeterName);
        Calls = meter.CreateCounter<long>("builtiful.github.calls", "{call}", "HTTP calls to GitHub's REST API, by operation and status code.");
        Throttles = meter.CreateCounter<long>("builtiful.github.throttles", "{response}", "Responses in which GitHub throttled us (primary or secondary rate limit), by installation.");
        Pauses = meter.CreateCounter<long>("builtiful.github.rate_limit.pauses", "{pause}", "Times a call waited for a rate-limit reset or a Retry-After before going out, by installation.");
        meter.CreateObservableGauge(
            "builtiful.github.rate_limit.remaining",
            () => ledger.Remaining().Select(b => new Measurement<long>(b.Value, new KeyValuePair<string, object?>("installation", b.Key))),
            "{request}",
            "Requests left in GitHub's current rate-limit window, per installation (\"app\" for the App's own JWT calls).");
    }

    internal Counter<long> Calls { get; }

    internal Counter<long> Throttles { get; }

    internal Counter<long> Pauses { get; }
}
