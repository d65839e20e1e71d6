using Builtiful.Gateway.Admin;
using Builtiful.Testing;
using Microsoft.Extensions.Options;

namespace Builtiful.Gateway.Tests;

/// <summary>A malformed operator token entry stops the host at start with the key that is wrong.</summary>
public sealed class AdminTokenConfigurationTests
{
    [Theory]
    [InlineData("Sha256", "alice-plain-token", "Admin:Tokens:0:Sha256")]
    [InlineData("Role", "admin", "Admin:Tokens:0:Role")]
    [InlineData("Name", "", "Admin:Tokens:0:Name")]
    public async Task A_bad_entry_refuses_to_start(string key, string value, string named)
    {
        var settings = new Dictionary<string, string>
        {
            ["Admin:Tokens:0:Name"] = "alice",
            ["Admin:Tokens:0:Sha256"] = OperatorDirectory.Digest("alice-plain-token"),
            ["Admin:Tokens:0:Role"] = OperatorRoles.Operator,
        };
        settings[$"Admin:Tokens:0:{key}"] = value;

        var refused = await Assert.ThrowsAsync<OptionsValidationException>(() => BuiltifulInstance.StartAsync(settings));

        Assert.Contains(named, refused.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void The_digest_is_the_hex_SHA_256_that_sha256sum_prints()
    {
        // printf %s 'abc' | sha256sum
        Assert.Equal("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad", OperatorDirectory.Digest("abc"));
    }
}
