using System.Buffers.Text;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace Builtiful.GitHub;

/// <summary>
/// Signs the App's short-lived RS256 JWT (GitHub's "authenticating as a GitHub App"). The key is loaded once,
/// held only in memory, and neither it nor any JWT is ever logged.
/// </summary>
public sealed class GitHubAppJwt(IOptions<GitHubAppOptions> options, [FromKeyedServices(BuiltifulClock.Key)] TimeProvider time) : IDisposable
{
    /// <summary>Issued this far in the past, as GitHub advises, to absorb clock drift.</summary>
    internal static readonly TimeSpan Backdate = TimeSpan.FromSeconds(60);

    /// <summary>GitHub refuses JWTs that expire more than ten minutes ahead; one minute of that is kept as slack.</summary>
    internal static readonly TimeSpan Lifetime = TimeSpan.FromMinutes(9);

    private static readonly string Header = Base64Url.EncodeToString("""{"alg":"RS256","typ":"JWT"}"""u8);

    private readonly Lazy<RSA> _key = new(() => AppPrivateKey.Load(options.Value), LazyThreadSafetyMode.ExecutionAndPublication);

    internal string Issue()
    {
        var now = time.GetUtcNow();
        using var payload = new MemoryStream();
        using (var json = new Utf8JsonWriter(payload))
        {
            json.WriteStartObject();
            json.WriteNumber("iat", (now - Backdate).ToUnixTimeSeconds());
            json.WriteNumber("exp", (now + Lifetime).ToUnixTimeSeconds());
            WriteIssuer(json, options.Value.AppId!);
            json.WriteEndObject();
        }

        var signingInput = Header + "." + Base64Url.EncodeToString(payload.GetBuffer().AsSpan(0, (int)payload.Length));
        var signature = _key.Value.SignData(Encoding.ASCII.GetBytes(signingInput), HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        return signingInput + "." + Base64Url.EncodeToString(signature);
    }

    public void Dispose()
    {
        if (_key.IsValueCreated)
        {
            _key.Value.Dispose();
        }
    }

    /// <summary>A numeric App id goes out as a number, as GitHub's examples do; a client id as a string.</summary>
    private static void WriteIssuer(Utf8JsonWriter json, string appId)
    {
        var trimmed = appId.Trim();
        if (long.TryParse(trimmed, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var numeric))
        {
            json.WriteNumber("iss", numeric);
        }
        else
        {
            json.WriteString("iss", trimmed);
        }
    }
}
