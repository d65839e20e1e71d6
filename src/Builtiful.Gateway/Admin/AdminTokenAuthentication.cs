using System.Security.Claims;
using System.Security.Cryptography;
using System.Text;
using System.Text.Encodings.Web;
using Microsoft.AspNetCore.Authentication;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Builtiful.Gateway.Admin;

/// <summary>
/// Operators authenticate with the admin token, as <c>Authorization: Bearer …</c> (API, CLI) or, for the
/// dashboard in a browser, as the HttpOnly cookie that <c>/login</c> sets.
/// </summary>
public sealed class AdminTokenAuthentication(
    IOptionsMonitor<AuthenticationSchemeOptions> options,
    ILoggerFactory logger,
    UrlEncoder encoder,
    IOptionsMonitor<AdminOptions> admin) : AuthenticationHandler<AuthenticationSchemeOptions>(options, logger, encoder)
{
    public const string SchemeName = "AdminToken";
    public const string Cookie = "builtiful_admin";

    protected override Task<AuthenticateResult> HandleAuthenticateAsync()
    {
        var presented = PresentedToken();
        if (presented is null)
        {
            return Task.FromResult(AuthenticateResult.NoResult());
        }

        if (!Matches(admin.CurrentValue.Token, presented))
        {
            return Task.FromResult(AuthenticateResult.Fail("The admin token does not match."));
        }

        var identity = new ClaimsIdentity([new Claim(ClaimTypes.Name, "operator"), new Claim(ClaimTypes.Role, "operator")], SchemeName);
        return Task.FromResult(AuthenticateResult.Success(new AuthenticationTicket(new ClaimsPrincipal(identity), SchemeName)));
    }

    protected override Task HandleChallengeAsync(AuthenticationProperties properties)
    {
        Response.StatusCode = Microsoft.AspNetCore.Http.StatusCodes.Status401Unauthorized;
        Response.Headers.WWWAuthenticate = "Bearer realm=\"builtiful-admin\"";
        return Task.CompletedTask;
    }

    /// <summary>Constant-time comparison of fixed-length digests, so neither content nor length leaks through timing.</summary>
    public static bool Matches(string? expected, string presented)
    {
        if (string.IsNullOrEmpty(expected))
        {
            return false;
        }

        return CryptographicOperations.FixedTimeEquals(
            SHA256.HashData(Encoding.UTF8.GetBytes(expected)),
            SHA256.HashData(Encoding.UTF8.GetBytes(presented)));
    }

    private string? PresentedToken()
    {
        var header = Request.Headers.Authorization.ToString();
        if (header.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase))
        {
            return header["Bearer ".Length..].Trim();
        }

        return Request.Cookies.TryGetValue(Cookie, out var cookie) && !string.IsNullOrEmpty(cookie) ? cookie : null;
    }
}
