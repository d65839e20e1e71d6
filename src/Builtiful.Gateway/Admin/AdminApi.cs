using Builtiful.Jobs;
using Builtiful.Leases;
using Builtiful.Organisations;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Routing;

namespace Builtiful.Gateway.Admin;

/// <summary>The internal grain client API over HTTP: read-only views of jobs, leases and organisations.</summary>
public static class AdminApi
{
    /// <summary>Reading: a principal in role read-only or operator. The historical name of <see cref="ReadPolicy"/>.</summary>
    public const string Policy = "admin";

    /// <summary>Reading jobs, leases, organisations and the dashboard: role read-only or operator.</summary>
    public const string ReadPolicy = Policy;

    /// <summary>Anything that changes state: role operator. Every endpoint carrying it is audited automatically.</summary>
    public const string OperatorPolicy = "admin-operator";

    public static RouteGroupBuilder MapAdminApiV1(this IEndpointRouteBuilder endpoints)
    {
        var api = endpoints.MapGroup("/api/v1").RequireAuthorization(ReadPolicy);
        api.MapGet("/jobs/{jobId:long}", GetJobAsync);
        api.MapGet("/leases/{leaseId:guid}", GetLeaseAsync);
        api.MapGet("/organisations/{installationId:long}", GetOrganisationAsync);
        return api;
    }

    public static async Task<Results<Ok<JobResponse>, ProblemHttpResult>> GetJobAsync(long jobId, IGrainFactory grains)
    {
        if (await grains.Reference<IJobGrain>(jobId).GetView() is not { } job)
        {
            return NotFound("Job not found", $"No delivery for job {jobId} has reached Builtiful.");
        }

        // The VM that ran (or runs) the job, as its lease knows it: what an operator looks up in the cloud console.
        var lease = job.LeaseId is { } leaseId ? await grains.Reference<IVmLeaseGrain>(leaseId).GetView() : null;
        return TypedResults.Ok(JobResponse.From(job) with { InstanceId = lease?.InstanceId, RunnerName = lease?.RunnerName });
    }

    public static async Task<Results<Ok<LeaseResponse>, ProblemHttpResult>> GetLeaseAsync(Guid leaseId, IGrainFactory grains) =>
        await grains.Reference<IVmLeaseGrain>(leaseId).GetView() is { } lease
            ? TypedResults.Ok(LeaseResponse.From(lease))
            : NotFound("Lease not found", $"There is no lease {leaseId}.");

    public static async Task<Results<Ok<OrganisationResponse>, ProblemHttpResult>> GetOrganisationAsync(long installationId, IGrainFactory grains)
    {
        var organisation = await grains.Reference<IOrganisationGrain>(installationId).GetView();
        return organisation.Status == OrganisationStatus.Unknown && organisation.LiveLeases == 0 && organisation.Login is null
            ? NotFound("Organisation not found", $"Installation {installationId} has never been seen.")
            : TypedResults.Ok(OrganisationResponse.From(organisation));
    }

    private static ProblemHttpResult NotFound(string title, string detail) =>
        TypedResults.Problem(statusCode: StatusCodes.Status404NotFound, title: title, detail: detail);
}
