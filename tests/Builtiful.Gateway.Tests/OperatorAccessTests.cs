using System.Net;
using System.Net.Http.Headers;
using Builtiful.Gateway.Admin;
using Builtiful.Gateway.Audit;
using Builtiful.Testing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace Builtiful.Gateway.Tests;

/// <summary>
/// The all-in-one with operator tokens stored as SHA-256 digests in configuration, one read-only and one operator,
/// and no plain <c>Admin:Token</c>.
/// </summary>
public sealed class OperatorAccessTests(OperatorAccessTests.Host builtiful) : IClassFixture<OperatorAccessTests.Host>
{
    public const string AliceToken = "alice-operator-token-5d0f8c2e91b34a77";
    public const string BobToken = "bob-read-only-token-0c4e7d1fa9b2468e";

    public sealed class Host : RunningBuiltiful
    {
        protected override IReadOnlyDictionary<string, string> Settings => new Dictionary<string, string>
        {
            ["Admin:Token"] = "",
            ["Admin:Tokens:0:Name"] = "alice",
            ["Admin:Tokens:0:Sha256"] = OperatorDirectory.Digest(AliceToken),
            ["Admin:Tokens:0:Role"] = OperatorRoles.Operator,
            ["Admin:Tokens:1:Name"] = "bob",
            ["Admin:Tokens:1:Sha256"] = OperatorDirectory.Digest(BobToken).ToUpperInvariant(),
            ["Admin:Tokens:1:Role"] = OperatorRoles.ReadOnly,
        };
    }

    [Theory]
    [InlineData(AliceToken)]
    [InlineData(BobToken)]
    public async Task Both_roles_read_the_admin_API_and_the_dashboard(string token)
    {
        using var organisation = await builtiful.AdminGetAsync("/api/v1/organisations/1", token);
        using var dashboard = await builtiful.AdminGetAsync("/dashboard/", token);

        Assert.Equal(HttpStatusCode.NotFound, organisation.StatusCode);
        Assert.Equal(HttpStatusCode.OK, dashboard.StatusCode);
    }

    [Theory]
    [InlineData(null)]
    [InlineData("guess")]
    [InlineData(BuiltifulInstance.AdminToken)]
    [InlineData("")]
    public async Task No_token_a_wrong_one_or_the_unconfigured_plain_one_is_401(string? token)
    {
        using var response = await builtiful.AdminGetAsync("/api/v1/organisations/1", token);

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
    }

    [Fact]
    public async Task The_stored_digest_itself_is_not_a_token()
    {
        using var response = await builtiful.AdminGetAsync("/api/v1/organisations/1", OperatorDirectory.Digest(AliceToken));

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
    }

    [Fact]
    public void No_development_token_is_generated_when_hashed_tokens_are_configured()
    {
        var admin = builtiful.Services.GetRequiredService<IOptions<AdminOptions>>().Value;

        Assert.True(string.IsNullOrEmpty(admin.Token));
        Assert.Equal(["alice", "bob"], admin.Tokens.Select(t => t.Name));
    }

    [Fact]
    public async Task Signing_in_is_audited_under_the_token_name_and_never_with_the_token()
    {
        using var handler = new HttpClientHandler { UseCookies = true, AllowAutoRedirect = false };
        using var browser = new HttpClient(handler) { BaseAddress = builtiful.BaseAddress };
        var audit = builtiful.Services.GetRequiredService<IAuditLog>();

        using var refused = await browser.PostAsync("/login", new FormUrlEncodedContent([new("token", "guess")]));
        using var login = await browser.PostAsync("/login", new FormUrlEncodedContent([new("token", BobToken)]));
        using var dashboard = await browser.GetAsync("/dashboard/");

        Assert.Equal(HttpStatusCode.Unauthorized, refused.StatusCode);
        Assert.Equal(HttpStatusCode.Redirect, login.StatusCode);
        Assert.Equal(HttpStatusCode.OK, dashboard.StatusCode);
        var signIns = audit.Recent.Where(e => e.Route == "/login").ToList();
        Assert.Contains(signIns, e => e is { Actor: "bob", Role: OperatorRoles.ReadOnly, Outcome: AuditOutcomes.Succeeded });
        Assert.Contains(signIns, e => e is { Actor: "anonymous", Outcome: AuditOutcomes.Unauthenticated });
        Assert.DoesNotContain(signIns, e => e.ToString().Contains(BobToken, StringComparison.Ordinal) || e.ToString().Contains("guess", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Only_the_operator_role_may_act_and_both_attempts_are_audited()
    {
        var leaseId = Guid.NewGuid();
        var audit = builtiful.Services.GetRequiredService<IAuditLog>();

        using var asBob = await PostAsync($"/api/v1/leases/{leaseId}/terminate", BobToken);
        using var asAlice = await PostAsync($"/api/v1/leases/{leaseId}/terminate", AliceToken);

        Assert.Equal(HttpStatusCode.Forbidden, asBob.StatusCode);
        Assert.NotEqual(HttpStatusCode.Forbidden, asAlice.StatusCode);
        Assert.NotEqual(HttpStatusCode.Unauthorized, asAlice.StatusCode);
        var attempts = audit.Recent.Where(e => e.Targets.GetValueOrDefault("leaseId") == leaseId.ToString()).ToList();
        Assert.Equal(["bob forbidden", $"alice {AuditOutcomes.FromStatus((int)asAlice.StatusCode)}"], attempts.Select(e => $"{e.Actor} {e.Outcome}"));
    }

    private async Task<HttpResponseMessage> PostAsync(string path, string token)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, path);
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        return await builtiful.Http.SendAsync(request);
    }

    [Fact]
    public async Task Login_with_a_body_that_is_not_a_form_is_415_not_a_crash()
    {
        using var content = new StringContent("{\"token\":\"x\"}", new MediaTypeHeaderValue("application/json"));

        using var response = await builtiful.Http.PostAsync("/login", content);

        Assert.Equal(HttpStatusCode.UnsupportedMediaType, response.StatusCode);
    }
}
