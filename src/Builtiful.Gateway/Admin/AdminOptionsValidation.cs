using Microsoft.Extensions.Options;

namespace Builtiful.Gateway.Admin;

/// <summary>A malformed operator token entry fails start-up with its index, instead of silently locking its holder out.</summary>
public sealed class AdminOptionsValidation : IValidateOptions<AdminOptions>
{
    public ValidateOptionsResult Validate(string? name, AdminOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var problems = new List<string>();
        var names = new HashSet<string>(StringComparer.Ordinal);
        for (var i = 0; i < options.Tokens.Count; i++)
        {
            var token = options.Tokens[i];
            if (string.IsNullOrWhiteSpace(token.Name))
            {
                problems.Add($"Admin:Tokens:{i}:Name is required: the audit log names operators by it");
            }
            else if (!names.Add(token.Name))
            {
                problems.Add($"Admin:Tokens names '{token.Name}' twice");
            }
            else if (token.Name == OperatorDirectory.PlainTokenName && !string.IsNullOrEmpty(options.Token))
            {
                problems.Add($"Admin:Tokens:{i}:Name '{OperatorDirectory.PlainTokenName}' is taken by Admin:Token");
            }

            if (token.Sha256 is not { Length: 64 } || !token.Sha256.All(char.IsAsciiHexDigit))
            {
                problems.Add($"Admin:Tokens:{i}:Sha256 (name '{token.Name}') must be the 64 hex digits of SHA-256 over the token, not the token itself");
            }

            if (!OperatorRoles.IsKnown(token.Role))
            {
                problems.Add($"Admin:Tokens:{i}:Role (name '{token.Name}') is '{token.Role}'; choose '{OperatorRoles.ReadOnly}' or '{OperatorRoles.Operator}'");
            }
        }

        return problems.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(problems);
    }
}
