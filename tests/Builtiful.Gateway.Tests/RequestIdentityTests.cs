using Builtiful.Gateway.Claims;
using Builtiful.Gateway.Security;
using Builtiful.Gateway.Webhooks;
using Builtiful.Testing;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;

namespace Builtiful.Gateway.Tests;

/// <summary>
/// Which requests the operator's authentication runs for (<see cref="OperatorSecurity.AsksForIdentity"/>), over the
/// running gateway's own endpoints: every endpoint with an authorization policy, every audited one and any request no
/// endpoint matched; not GitHub's deliveries, the VMs' claims or the health check, which no operator token concerns.
/// </summary>
public sealed class RequestIdentityTests(RunningBuiltiful builtiful) : IClassFixture<RunningBuiltiful>
{
    private IReadOnlyList<RouteEndpoint> Endpoints =>
        [.. builtiful.Services.GetRequiredService<EndpointDataSource>().Endpoints.OfType<RouteEndpoint>()];

    private static bool AsksForIdentity(Endpoint? endpoint)
    {
        var context = new DefaultHttpContext();
        context.SetEndpoint(endpoint);
        return OperatorSecurity.AsksForIdentity(context);
    }

    [Fact]
    public void Deliveries_claims_and_the_health_check_skip_operator_authentication()
    {
        foreach (var path in new[] { WebhookEndpoint.Path, ClaimEndpoint.Path, "/healthz" })
        {
            var endpoint = Assert.Single(Endpoints, e => e.RoutePattern.RawText == path);
            Assert.False(AsksForIdentity(endpoint), path);
        }
    }

    [Fact]
    public void Every_endpoint_with_a_policy_or_an_audit_and_every_unmatched_request_is_authenticated()
    {
        var guarded = Endpoints.Where(e => e.Metadata.GetMetadata<IAuthorizeData>() is not null).ToList();
        Assert.Contains(guarded, e => e.RoutePattern.RawText!.StartsWith("/api/v1/", StringComparison.Ordinal));
        Assert.Contains(guarded, e => e.RoutePattern.RawText!.StartsWith("/dashboard", StringComparison.Ordinal));
        Assert.All(guarded, e => Assert.True(AsksForIdentity(e), e.RoutePattern.RawText));
        Assert.All(Endpoints.Where(e => Audit.OperatorAudit.IsAudited(e)), e => Assert.True(AsksForIdentity(e), e.RoutePattern.RawText));
        Assert.True(AsksForIdentity(null));
    }
}
