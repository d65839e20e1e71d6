using System.Collections.Concurrent;
using System.Globalization;
using System.Net.Http.Headers;

namespace Builtiful.GitHub;

/// <summary>
/// What GitHub last said about each budget (one per installation token, one for the App's JWT): requests left,
/// when the window resets, and any pause a secondary limit imposed.
/// </summary>
public sealed class RateLimitLedger
{
    /// <summary>The budget of calls made with the App's JWT rather than an installation token.</summary>
    public const string AppBucket = "app";

    /// <summary>GitHub's reset is whole seconds on GitHub's clock; one more second absorbs rounding and drift.</summary>
    private static readonly TimeSpan ResetSlack = TimeSpan.FromSeconds(1);

    private readonly ConcurrentDictionary<string, Budget> _budgets = new(StringComparer.Ordinal);

    /// <summary>Requests left per budget, as GitHub last reported them.</summary>
    public IReadOnlyList<KeyValuePair<string, long>> Remaining() =>
        [.. _budgets.Where(b => b.Value.Remaining is not null).Select(b => KeyValuePair.Create(b.Key, b.Value.Remaining!.Value))];

    internal void Observe(string bucket, HttpResponseHeaders headers)
    {
        var remaining = ReadLong(headers, "X-RateLimit-Remaining");
        var reset = ReadLong(headers, "X-RateLimit-Reset");
        var limit = ReadLong(headers, "X-RateLimit-Limit");
        if (remaining is null && reset is null)
        {
            return;
        }

        var resetAt = reset is { } seconds ? DateTimeOffset.FromUnixTimeSeconds(seconds) : (DateTimeOffset?)null;
        _budgets.AddOrUpdate(
            bucket,
            static (_, fresh) => fresh,
            static (_, old, fresh) => old with { Remaining = fresh.Remaining ?? old.Remaining, Limit = fresh.Limit ?? old.Limit, ResetAt = fresh.ResetAt ?? old.ResetAt },
            new Budget(remaining, limit, resetAt, null));
    }

    /// <summary>A secondary limit asked us to stay away from this budget until then.</summary>
    internal void Pause(string bucket, DateTimeOffset until) =>
        _budgets.AddOrUpdate(
            bucket,
            static (_, until) => new Budget(null, null, null, until),
            static (_, old, until) => old with { PausedUntil = old.PausedUntil is { } earlier && earlier > until ? earlier : until },
            until);

    /// <summary>When the next call on this budget may go out, or null when it may go now.</summary>
    internal DateTimeOffset? NextCallAt(string bucket, DateTimeOffset now)
    {
        if (!_budgets.TryGetValue(bucket, out var budget))
        {
            return null;
        }

        DateTimeOffset? at = null;
        if (budget.Remaining == 0 && budget.ResetAt is { } reset && reset + ResetSlack > now)
        {
            at = reset + ResetSlack;
        }

        if (budget.PausedUntil is { } paused && paused > now && (at is null || paused > at))
        {
            at = paused;
        }

        return at;
    }

    internal static long? ReadLong(HttpResponseHeaders headers, string name) =>
        headers.TryGetValues(name, out var values)
        && long.TryParse(values.FirstOrDefault(), NumberStyles.Integer, CultureInfo.InvariantCulture, out var value)
            ? value
            : null;

    private sealed record Budget(long? Remaining, long? Limit, DateTimeOffset? ResetAt, DateTimeOffset? PausedUntil);
}
