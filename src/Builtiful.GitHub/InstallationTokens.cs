using System.Collections.Concurrent;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace Builtiful.GitHub;

/// <summary>
/// Installation access tokens, cached in memory per installation until shortly before they expire, refreshed by
/// one caller at a time per installation. Never persisted, never logged.
/// </summary>
public sealed class InstallationTokens(IOptions<GitHubAppOptions> options, [FromKeyedServices(BuiltifulClock.Key)] TimeProvider time)
{
    private readonly ConcurrentDictionary<long, Slot> _slots = new();

    /// <summary>Drops an installation's cached token, e.g. when the installation is deleted or suspended.</summary>
    public void Forget(long installationId) => _slots.TryRemove(installationId, out _);

    internal async ValueTask<string> GetAsync(
        long installationId,
        Func<long, CancellationToken, Task<InstallationAccessToken>> exchange,
        CancellationToken cancellationToken)
    {
        var slot = _slots.GetOrAdd(installationId, static _ => new Slot());
        if (Fresh(slot.Current) is { } cached)
        {
            return cached;
        }

        await slot.Gate.WaitAsync(cancellationToken);
        try
        {
            // Whoever held the gate before us may have refreshed it already.
            if (Fresh(slot.Current) is { } refreshed)
            {
                return refreshed;
            }

            var issued = await exchange(installationId, cancellationToken);
            slot.Current = issued;
            return issued.Token;
        }
        finally
        {
            slot.Gate.Release();
        }
    }

    /// <summary>GitHub answered 401 to this token: the next caller exchanges a new one.</summary>
    internal void Reject(long installationId, string token)
    {
        if (_slots.TryGetValue(installationId, out var slot) && slot.Current is { } current && current.Token == token)
        {
            slot.Current = null;
        }
    }

    private string? Fresh(InstallationAccessToken? token) =>
        token is not null && time.GetUtcNow() < token.ExpiresAt - options.Value.TokenRefreshMargin ? token.Token : null;

    private sealed class Slot
    {
        private InstallationAccessToken? _current;

        public SemaphoreSlim Gate { get; } = new(1, 1);

        public InstallationAccessToken? Current
        {
            get => Volatile.Read(ref _current);
            set => Volatile.Write(ref _current, value);
        }
    }
}

/// <summary>An installation token and its expiry; <see cref="ToString"/> does not reveal the token.</summary>
internal sealed class InstallationAccessToken(string token, DateTimeOffset expiresAt)
{
    public string Token { get; } = token;

    public DateTimeOffset ExpiresAt { get; } = expiresAt;

    public override string ToString() => $"InstallationAccessToken {{ ExpiresAt = {ExpiresAt:O}, Token = [redacted] }}";
}
