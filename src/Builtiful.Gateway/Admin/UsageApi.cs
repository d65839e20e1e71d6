using System.Globalization;
using System.Text;
using Builtiful.Usage;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Net.Http.Headers;

namespace Builtiful.Gateway.Admin;

/// <summary><c>GET /api/v1/organisations/{installationId}/usage?month=yyyy-MM</c>: billable minutes per machine type, as JSON or CSV.</summary>
public static class UsageApi
{
    public const string CsvMediaType = "text/csv";

    public static RouteHandlerBuilder MapUsageApiV1(this IEndpointRouteBuilder endpoints) =>
        endpoints.MapGet("/api/v1/organisations/{installationId:long}/usage", GetUsageAsync).RequireAuthorization(AdminApi.Policy);

    public static async Task<Results<Ok<UsageResponse>, ContentHttpResult, ProblemHttpResult>> GetUsageAsync(
        long installationId, string? month, IGrainFactory grains, HttpContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        if (Month(month, context) is not { } usageMonth)
        {
            return BadMonth(month);
        }

        // Usage outlives the installation, so a deleted organisation still answers; one never seen does not.
        if (await OperatorApi.FindOrganisationAsync(grains, installationId) is null)
        {
            return OperatorApi.OrganisationNotFound(installationId);
        }

        var usage = await grains.Reference<IUsageGrain>(UsageMonth.Key(installationId, usageMonth)).GetView();
        return WantsCsv(context.Request)
            ? TypedResults.Text(Csv(usage), CsvMediaType + "; charset=utf-8", Encoding.UTF8)
            : TypedResults.Ok(UsageResponse.From(usage));
    }

    /// <summary>One row per machine type, so a billing import needs no JSON; every field is a plain number or label.</summary>
    public static string Csv(UsageView usage)
    {
        ArgumentNullException.ThrowIfNull(usage);
        var csv = new StringBuilder("month,installation_id,machine_type,jobs,minutes\n");
        foreach (var (label, minutes) in usage.Minutes.OrderBy(m => m.Key, StringComparer.Ordinal))
        {
            var jobs = usage.JobsByMachineType.TryGetValue(label, out var count) ? count : 0;
            csv.Append(CultureInfo.InvariantCulture, $"{usage.Month},{usage.InstallationId},{label},{jobs},{minutes}\n");
        }

        return csv.ToString();
    }

    /// <summary>The requested month, or the current one by the Builtiful clock; null when the text is no <c>yyyy-MM</c>.</summary>
    internal static string? Month(string? month, HttpContext context)
    {
        if (month is null)
        {
            var clock = context.RequestServices.GetKeyedService<TimeProvider>(BuiltifulClock.Key) ?? TimeProvider.System;
            return UsageMonth.Of(clock.GetUtcNow());
        }

        return UsageMonth.TryParse(month, out var normalised) ? normalised : null;
    }

    internal static ProblemHttpResult BadMonth(string? month) =>
        OperatorApi.BadRequest("Invalid month", $"'{month}' is not a month: write it yyyy-MM, for example 2026-11.");

    private static bool WantsCsv(HttpRequest request) =>
        request.GetTypedHeaders().Accept.Any(a => a.MediaType.Equals(CsvMediaType, StringComparison.OrdinalIgnoreCase));
}
