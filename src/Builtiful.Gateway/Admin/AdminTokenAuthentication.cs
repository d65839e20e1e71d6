using System.Security.Claims;
using System.Text.Encodings.Web;
using Microsoft.AspNetCore.Authentication;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Builtiful.Gateway.Admin;

/// <summary>
/// Operators authenticate with a bearer token, as <c>Authorization: Bearer …</c> (API, CLI) or, for the dashboard in
/// a browser, as the HttpOnly cookie that <c>/login</c> sets. The principal is claims-based (name and role), so an
/// OIDC scheme added later only has to produce the same two claims.
/// </summary>
public sealed class AdminTokenAuthentication(
    IOptionsMonitor<AuthenticationSchemeOptions> options,
    ILoggerFactory logger,
    UrlEncoder encoder,
    OperatorDirectory operators) : AuthenticationHandler<AuthenticationSchemeOptions>(options, logger, encoder)
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

        if (operators.Find(presented) is not { } identity)
        {
            return Task.FromResult(AuthenticateResult.Fail("The admin token does not match."));
        }

        return Task.FromResult(AuthenticateResult.Success(new AuthenticationTicket(Principal(identity, SchemeName), SchemeName)));
    }

    protected override Task HandleChallengeAsync(AuthenticationProperties properties)
    {
        Response.StatusCode = Microsoft.AspNetCore.Http.StatusCodes.Status401Unauthorized;
        Response.Headers.WWWAuthenticate = "Bearer realm=\"builtiful-admin\"";
        return Task.CompletedTask;
    }

    /// <summary>The claims every operator principal carries, whatever authenticated it.</summary>
    public static ClaimsPrincipal Principal(OperatorIdentity identity, string scheme)
    {
        ArgumentNullException.ThrowIfNull(identity);
        return new ClaimsPrincipal(new ClaimsIdentity(
            [new Claim(ClaimTypes.Name, identity.Name), new Claim(ClaimTypes.Role, identity.Role)],
            scheme, ClaimTypes.Name, ClaimTypes.Role));
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
