using System.Net;
using System.Net.Http.Headers;
using Builtiful.Gateway.Admin;
using Builtiful.Gateway.Audit;
using Builtiful.Gateway.Security;
using Builtiful.Testing;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Time.Testing;

namespace Builtiful.Gateway.Tests;

/// <summary>
/// The gateway's operator security on its own host, with endpoints shaped like the operator API's: every request to an
/// endpoint carrying <see cref="AdminApi.OperatorPolicy"/> is audited, allowed or not, and nothing else is.
/// </summary>
public sealed class OperatorAuditTests : IAsyncLifetime
{
    private const string AliceToken = "alice-operator-token-77a1b9c03e5d";
    private const string BobToken = "bob-read-only-token-4f2c88de1a06";
    private static readonly DateTimeOffset Now = new(2026, 11, 5, 9, 30, 0, TimeSpan.Zero);

    private readonly LogCapture _logs = new();
    private readonly FakeTimeProvider _clock = new(Now);
    private WebApplication _app = null!;
    private HttpClient _http = null!;

    private IAuditLog Audit => _app.Services.GetRequiredService<IAuditLog>();

    public async Task InitializeAsync()
    {
        var builder = WebApplication.CreateBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Admin:Tokens:0:Name"] = "alice",
            ["Admin:Tokens:0:Sha256"] = OperatorDirectory.Digest(AliceToken),
            ["Admin:Tokens:0:Role"] = OperatorRoles.Operator,
            ["Admin:Tokens:1:Name"] = "bob",
            ["Admin:Tokens:1:Sha256"] = OperatorDirectory.Digest(BobToken),
            ["Admin:Tokens:1:Role"] = OperatorRoles.ReadOnly,
        });
        builder.Logging.ClearProviders().AddProvider(_logs).SetMinimumLevel(LogLevel.Debug);
        builder.Services.AddOptions<AdminOptions>().Bind(builder.Configuration.GetSection(AdminOptions.Section));
        builder.AddBuiltifulSecurity();
        builder.Services.AddKeyedSingleton<TimeProvider>(BuiltifulClock.Key, _clock);
        _app = builder.Build();
        _app.UseBuiltifulSecurity();
        _app.MapPost("/api/v1/organisations/{installationId:long}/suspend", (long installationId) => Results.Accepted()).RequireOperator();
        _app.MapDelete("/api/v1/leases/{leaseId:guid}", (Guid leaseId) => Results.NotFound()).RequireOperator();
        _app.MapPost("/api/v1/broken", IResult () => throw new InvalidOperationException("the operation broke")).RequireOperator();
        _app.MapGet("/api/v1/organisations/{installationId:long}", (long installationId) => Results.Ok()).RequireAuthorization(AdminApi.ReadPolicy);
        await _app.StartAsync();
        _http = new HttpClient { BaseAddress = new Uri(_app.Urls.First()) };
    }

    public async Task DisposeAsync()
    {
        _http.Dispose();
        await _app.StopAsync();
        await _app.DisposeAsync();
    }

    [Fact]
    public async Task An_operator_action_is_audited_with_who_what_targets_when_and_outcome()
    {
        using var response = await SendAsync(HttpMethod.Post, "/api/v1/organisations/957387/suspend", AliceToken);

        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        var entry = Assert.Single(Audit.Recent, e => e.Targets.GetValueOrDefault("installationId") == "957387");
        Assert.Equal("alice", entry.Actor);
        Assert.Equal(OperatorRoles.Operator, entry.Role);
        Assert.Equal("POST", entry.Method);
        Assert.Equal("/api/v1/organisations/{installationId:long}/suspend", entry.Route);
        Assert.Equal(Now, entry.At);
        Assert.Equal(202, entry.Status);
        Assert.Equal(AuditOutcomes.Succeeded, entry.Outcome);
        var line = Assert.Single(_logs.Lines, l => l.Category == AuditLog.Category && l.Message.Contains("957387", StringComparison.Ordinal));
        Assert.Contains("alice", line.Message, StringComparison.Ordinal);
        Assert.Contains("Actor=alice", line.Values);
        Assert.Contains("Outcome=succeeded", line.Values);
    }

    [Fact]
    public async Task A_read_only_token_is_forbidden_to_change_anything_and_the_attempt_is_audited()
    {
        var leaseId = Guid.NewGuid();

        using var response = await SendAsync(HttpMethod.Delete, $"/api/v1/leases/{leaseId}", BobToken);

        Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
        var entry = Assert.Single(Audit.Recent, e => e.Targets.GetValueOrDefault("leaseId") == leaseId.ToString());
        Assert.Equal(("bob", OperatorRoles.ReadOnly, 403, AuditOutcomes.Forbidden), (entry.Actor, entry.Role, entry.Status, entry.Outcome));
    }

    [Theory]
    [InlineData(null)]
    [InlineData("not-a-token-of-ours")]
    public async Task Anonymous_and_wrong_token_attempts_are_audited_as_unauthenticated(string? token)
    {
        var installationId = Random.Shared.NextInt64(1_000_000, long.MaxValue).ToString(System.Globalization.CultureInfo.InvariantCulture);

        using var response = await SendAsync(HttpMethod.Post, $"/api/v1/organisations/{installationId}/suspend", token);

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        var entry = Assert.Single(Audit.Recent, e => e.Targets.GetValueOrDefault("installationId") == installationId);
        Assert.Equal(("anonymous", (string?)null, AuditOutcomes.Unauthenticated), (entry.Actor, entry.Role, entry.Outcome));
    }

    [Fact]
    public async Task A_failing_operator_action_is_audited_as_failed()
    {
        using var response = await SendAsync(HttpMethod.Post, "/api/v1/broken", AliceToken);

        Assert.Equal(HttpStatusCode.InternalServerError, response.StatusCode);
        Assert.Contains(Audit.Recent, e => e is { Route: "/api/v1/broken", Actor: "alice", Status: 500, Outcome: AuditOutcomes.Failed });
    }

    [Fact]
    public async Task Reads_are_allowed_to_both_roles_and_not_audited()
    {
        using var alice = await SendAsync(HttpMethod.Get, "/api/v1/organisations/4242", AliceToken);
        using var bob = await SendAsync(HttpMethod.Get, "/api/v1/organisations/4242", BobToken);

        Assert.Equal(HttpStatusCode.OK, alice.StatusCode);
        Assert.Equal(HttpStatusCode.OK, bob.StatusCode);
        Assert.DoesNotContain(Audit.Recent, e => e.Targets.GetValueOrDefault("installationId") == "4242");
    }

    [Fact]
    public async Task No_token_ever_reaches_the_audit_log_or_any_log_line()
    {
        using (await SendAsync(HttpMethod.Post, "/api/v1/organisations/1/suspend", AliceToken))
        using (await SendAsync(HttpMethod.Post, "/api/v1/organisations/1/suspend", BobToken))
        using (await SendAsync(HttpMethod.Post, "/api/v1/organisations/1/suspend", "wrong-token-9e8d"))
        {
        }

        Assert.Contains(_logs.Lines, l => l.Category == AuditLog.Category);
        foreach (var secret in new[] { AliceToken, BobToken, "wrong-token-9e8d", OperatorDirectory.Digest(AliceToken) })
        {
            Assert.DoesNotContain(_logs.Lines, l => l.AllText.Contains(secret, StringComparison.OrdinalIgnoreCase));
            Assert.DoesNotContain(Audit.Recent, e => e.ToString().Contains(secret, StringComparison.OrdinalIgnoreCase));
        }
    }

    private async Task<HttpResponseMessage> SendAsync(HttpMethod method, string path, string? token)
    {
        using var request = new HttpRequestMessage(method, path);
        if (token is not null)
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        }

        return await _http.SendAsync(request);
    }
}
