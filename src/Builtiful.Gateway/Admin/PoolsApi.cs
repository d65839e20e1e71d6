using Builtiful.Pools;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Configuration;

namespace Builtiful.Gateway.Admin;

/// <summary>
/// Warm pools: their configuration, VMs and counters (read), and an operator's runtime override of MinIdle and MaxIdle,
/// which the pool grain stores. The pools are the ones this gateway's configuration names (<c>Pools:&lt;name&gt;</c>), as the silos'.
/// </summary>
public static class PoolsApi
{
    public static RouteGroupBuilder MapPoolsApiV1(this IEndpointRouteBuilder endpoints)
    {
        var reads = endpoints.MapGroup("/api/v1").RequireAuthorization(AdminApi.ReadPolicy);
        reads.MapGet("/pools", ListAsync);
        reads.MapGet("/pools/{name}", GetAsync);

        var actions = endpoints.MapGroup("/api/v1").RequireAuthorization(AdminApi.OperatorPolicy);
        actions.MapPut("/pools/{name}", SetAsync);
        return actions;
    }

    public static async Task<Ok<PoolView[]>> ListAsync(IGrainFactory grains, IConfiguration configuration) =>
        TypedResults.Ok(await Task.WhenAll(Names(configuration).Select(n => grains.Reference<IPoolGrain>(n).GetView())));

    public static async Task<Results<Ok<PoolView>, ProblemHttpResult>> GetAsync(string name, IGrainFactory grains, IConfiguration configuration) =>
        Names(configuration).Contains(name, StringComparer.Ordinal)
            ? TypedResults.Ok(await grains.Reference<IPoolGrain>(name).GetView())
            : NotFound(name, configuration);

    public static async Task<Results<Ok<PoolView>, ProblemHttpResult>> SetAsync(string name, PoolRequest request, IGrainFactory grains, IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(request);
        if (!Names(configuration).Contains(name, StringComparer.Ordinal))
        {
            return NotFound(name, configuration);
        }

        if (request.MinIdle is null && request.MaxIdle is null)
        {
            return TypedResults.Problem(statusCode: StatusCodes.Status400BadRequest, title: "Nothing to set", detail: "Send minIdle, maxIdle or both, e.g. {\"minIdle\": 2, \"maxIdle\": 5}.");
        }

        var answer = await grains.Reference<IPoolGrain>(name).Set(request.MinIdle, request.MaxIdle);
        return answer.View is { } view
            ? TypedResults.Ok(view)
            : TypedResults.Problem(statusCode: StatusCodes.Status400BadRequest, title: "Invalid pool bounds", detail: answer.Error);
    }

    private static List<string> Names(IConfiguration configuration) =>
        [.. configuration.GetSection("Pools").GetChildren().Select(c => c.Key).Order(StringComparer.Ordinal)];

    private static ProblemHttpResult NotFound(string name, IConfiguration configuration) => TypedResults.Problem(
        statusCode: StatusCodes.Status404NotFound,
        title: "Pool not found",
        detail: $"No pool '{name}' is configured (Pools:{name}); configured: {(Names(configuration) is { Count: > 0 } names ? string.Join(", ", names) : "none")}.");
}

/// <summary>The body of <c>PUT /api/v1/pools/{name}</c>: either bound, or both.</summary>
public sealed record PoolRequest(int? MinIdle, int? MaxIdle);
