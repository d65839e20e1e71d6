using System.Security.Cryptography;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace Builtiful.GitHub;

/// <summary>
/// Signs the App's short-lived RS256 JWT (GitHub's "authenticating as a GitHub App") with
/// <see cref="JsonWebTokenHandler"/>. The key is loaded once, held only in memory, and neither it nor any JWT is ever logged.
/// </summary>
public sealed class GitHubAppJwt(IOptions<GitHubAppOptions> options, [FromKeyedServices(BuiltifulClock.Key)] TimeProvider time) : IDisposable
{
    /// <summary>Issued this far in the past, as GitHub advises, to absorb clock drift.</summary>
    internal static readonly TimeSpan Backdate = TimeSpan.FromSeconds(60);

    /// <summary>GitHub refuses JWTs that expire more than ten minutes ahead; one minute of that is kept as slack.</summary>
    internal static readonly TimeSpan Lifetime = TimeSpan.FromMinutes(9);

    private static readonly JsonWebTokenHandler Handler = new() { SetDefaultTimesOnTokenCreation = false };

    private readonly Lazy<(RSA Rsa, SigningCredentials Credentials)> _key = new(() =>
    {
        var rsa = AppPrivateKey.Load(options.Value);
        return (rsa, new SigningCredentials(new RsaSecurityKey(rsa), SecurityAlgorithms.RsaSha256));
    }, LazyThreadSafetyMode.ExecutionAndPublication);

    internal string Issue()
    {
        // Times come from the injected clock; the handler's own defaults would read the system clock.
        var now = time.GetUtcNow();
        return Handler.CreateToken(new SecurityTokenDescriptor
        {
            // GitHub takes the App id (or client id) as a string; IdentityModel reads iss only as a string.
            Issuer = options.Value.AppId!.Trim(),
            IssuedAt = (now - Backdate).UtcDateTime,
            Expires = (now + Lifetime).UtcDateTime,
            SigningCredentials = _key.Value.Credentials,
        });
    }

    public void Dispose()
    {
        if (_key.IsValueCreated)
        {
            _key.Value.Rsa.Dispose();
        }
    }
}
