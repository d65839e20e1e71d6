namespace Builtiful.Gateway.Admin;

/// <summary>
/// One entry of <c>Admin:Tokens</c>: a named bearer token stored only as the hex SHA-256 of the token, so neither the
/// configuration nor a copy of it ever reveals a usable token.
/// </summary>
public sealed class OperatorToken
{
    /// <summary>Who holds the token; the audit log records this name, never the token.</summary>
    public string Name { get; set; } = "";

    /// <summary>Lower- or upper-case hex of SHA-256 over the token's UTF-8 bytes (<c>printf %s "$token" | sha256sum</c>).</summary>
    public string Sha256 { get; set; } = "";

    /// <summary><see cref="OperatorRoles.ReadOnly"/> or <see cref="OperatorRoles.Operator"/>.</summary>
    public string Role { get; set; } = OperatorRoles.ReadOnly;

    public override string ToString() => $"OperatorToken {{ Name = {Name}, Role = {Role} }}";
}
