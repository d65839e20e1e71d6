namespace Builtiful.Gateway.Admin;

/// <summary>
/// The roles an operator principal carries as <see cref="System.Security.Claims.ClaimTypes.Role"/> claims. Any
/// authentication scheme (bearer tokens today, OIDC later) only has to map its identities onto these two values.
/// </summary>
public static class OperatorRoles
{
    /// <summary>May read jobs, leases, organisations and the dashboard; changes nothing.</summary>
    public const string ReadOnly = "read-only";

    /// <summary>May also change state: every such request is audited.</summary>
    public const string Operator = "operator";

    public static bool IsKnown(string? role) => role is ReadOnly or Operator;
}
