using Builtiful.Jobs;
using Builtiful.Leases;
using Builtiful.Machines;
using Builtiful.Organisations;
using Builtiful.Reconciliation;
using Builtiful.Usage;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;

namespace Builtiful.Gateway.Admin;

/// <summary>
/// The operator's lists (organisations, jobs by organisation and status, leases by phase, all paged) and actions
/// (limits, an operator's suspension, terminating a lease, a reconciliation sweep). Actions need the operator role.
/// </summary>
public static class OperatorApi
{
    public const int DefaultLimit = 50;
    public const int MaxLimit = 200;

    public static RouteGroupBuilder MapOperatorApiV1(this IEndpointRouteBuilder endpoints)
    {
        var reads = endpoints.MapGroup("/api/v1").RequireAuthorization(AdminApi.Policy);
        reads.MapGet("/organisations", ListOrganisationsAsync);
        reads.MapGet("/organisations/{installationId:long}/jobs", ListJobsAsync);
        reads.MapGet("/leases", ListLeasesAsync);
        reads.MapGet("/organisations/{installationId:long}/repository-policy", GetRepositoryPolicyAsync);

        var actions = endpoints.MapGroup("/api/v1").RequireAuthorization(AdminApi.OperatorPolicy);
        actions.MapPut("/organisations/{installationId:long}/limits", SetLimitsAsync);
        actions.MapPut("/organisations/{installationId:long}/repository-policy", SetRepositoryPolicyAsync);
        actions.MapPost("/organisations/{installationId:long}/suspend", SuspendAsync);
        actions.MapPost("/organisations/{installationId:long}/resume", ResumeAsync);
        actions.MapPost("/leases/{leaseId:guid}/terminate", TerminateLeaseAsync);
        actions.MapPost("/reconciliation/sweep", SweepAsync);
        return actions;
    }

    public static async Task<Results<Ok<PageResponse<OrganisationSummaryResponse>>, ProblemHttpResult>> ListOrganisationsAsync(
        string? status, int? offset, int? limit, IGrainFactory grains)
    {
        if (Paging(offset, limit) is not (var skip, var take))
        {
            return BadPaging();
        }

        OrganisationStatus? wanted = null;
        if (status is not null)
        {
            if (!Enum.TryParse<OrganisationStatus>(status, ignoreCase: true, out var parsed) || !Enum.IsDefined(parsed) || int.TryParse(status, out _))
            {
                return BadRequest("Unknown status", $"'{status}' is not an organisation status: use active, suspended, deleted or unknown.");
            }

            wanted = parsed;
        }

        var page = await grains.Reference<IOrganisationDirectoryGrain>(IOrganisationDirectoryGrain.Key).List(wanted, skip, take);
        var items = await Task.WhenAll(page.Items.Select(async entry =>
        {
            var view = await grains.Reference<IOrganisationGrain>(entry.InstallationId).GetView();
            var suspension = await grains.Reference<IOrganisationOperations>(entry.InstallationId).GetSuspension();
            return OrganisationSummaryResponse.From(view, suspension);
        }));
        return TypedResults.Ok(PageResponse.Of(items, skip, take, page.Total));
    }

    /// <summary>
    /// Jobs the organisation still tracks (queued, waiting, in progress), then the month's completed jobs that ran on
    /// our VMs (from its usage). Completed jobs that never got a VM of ours are not listed.
    /// </summary>
    public static async Task<Results<Ok<PageResponse<JobResponse>>, ProblemHttpResult>> ListJobsAsync(
        long installationId, string? status, string? month, int? offset, int? limit, IGrainFactory grains, HttpContext context)
    {
        if (Paging(offset, limit) is not (var skip, var take))
        {
            return BadPaging();
        }

        JobStatus? wanted = null;
        if (status is not null)
        {
            if (!JobStatusNames.TryParse(status, out var parsed))
            {
                return BadRequest("Unknown status", $"'{status}' is not a job status: use queued, waiting, in_progress or completed.");
            }

            wanted = parsed;
        }

        if (UsageApi.Month(month, context) is not { } usageMonth)
        {
            return UsageApi.BadMonth(month);
        }

        if (await FindOrganisationAsync(grains, installationId) is null)
        {
            return OrganisationNotFound(installationId);
        }

        var active = new List<JobView>();
        if (wanted is not JobStatus.Completed)
        {
            var tracked = await grains.Reference<IOrganisationOperations>(installationId).GetJobs();
            var ids = tracked.Running.Concat(tracked.Pending.Select(p => p.JobId)).Distinct();
            var views = await Task.WhenAll(ids.Select(id => grains.Reference<IJobGrain>(id).GetView()));
            active.AddRange(views.OfType<JobView>()
                .Where(v => v.Status != JobStatus.Completed && (wanted is null || v.Status == wanted))
                .OrderBy(v => v.QueuedAt).ThenBy(v => v.Id));
        }

        var items = active.Skip(skip).Take(take).Select(JobResponse.From).ToList();
        var total = active.Count;
        if (wanted is null or JobStatus.Completed)
        {
            var usage = grains.Reference<IUsageGrain>(UsageMonth.Key(installationId, usageMonth));
            var runs = await usage.GetRuns(Math.Max(0, skip - active.Count), take - items.Count);
            var views = await Task.WhenAll(runs.Items.Select(r => grains.Reference<IJobGrain>(r.JobId).GetView()));
            items.AddRange(views.OfType<JobView>().Select(JobResponse.From));
            total += runs.Total;
        }

        return TypedResults.Ok(PageResponse.Of(items, skip, take, total));
    }

    /// <summary>
    /// Live leases come from the organisations (all, or one), ended ones from the cluster's bounded history of recent
    /// ends; live leases first, newest first.
    /// </summary>
    public static async Task<Results<Ok<PageResponse<LeaseResponse>>, ProblemHttpResult>> ListLeasesAsync(
        string? phase, long? installationId, int? offset, int? limit, IGrainFactory grains)
    {
        if (Paging(offset, limit) is not (var skip, var take))
        {
            return BadPaging();
        }

        LeasePhase? wanted = null;
        if (phase is not null)
        {
            wanted = Enum.GetValues<LeasePhase>().Cast<LeasePhase?>().FirstOrDefault(p => p!.Value.ToWire() == phase);
            if (wanted is null)
            {
                return BadRequest("Unknown phase", $"'{phase}' is not a lease phase: use one of {string.Join(", ", Enum.GetValues<LeasePhase>().Select(p => p.ToWire()))}.");
            }
        }

        var live = new List<LeaseView>();
        if (wanted is not { } livePhase || !livePhase.IsFinal())
        {
            IEnumerable<long> organisations = installationId is { } one
                ? [one]
                : (await grains.Reference<IOrganisationDirectoryGrain>(IOrganisationDirectoryGrain.Key).List(null, 0, int.MaxValue)).Items.Select(e => e.InstallationId);
            var leaseIds = (await Task.WhenAll(organisations.Select(id => grains.Reference<IOrganisationGrain>(id).GetView())))
                .SelectMany(o => o.LeaseIds).Distinct();
            var views = await Task.WhenAll(leaseIds.Select(id => grains.Reference<IVmLeaseGrain>(id).GetView()));
            live.AddRange(views.OfType<LeaseView>()
                .Where(v => !v.Phase.IsFinal() && (wanted is null || v.Phase == wanted))
                .OrderByDescending(v => v.RequestedAt).ThenBy(v => v.Id));
        }

        var ended = new List<EndedLease>();
        if (wanted is not { } endedPhase || endedPhase.IsFinal())
        {
            var recent = await grains.Reference<ILeaseHistoryGrain>(ILeaseHistoryGrain.Key).Recent();
            ended.AddRange(recent.Where(l => (installationId is null || l.InstallationId == installationId) && (wanted is null || l.Phase == wanted)));
        }

        var items = live.Skip(skip).Take(take).Select(LeaseResponse.From).ToList();
        var endedPage = ended.Skip(Math.Max(0, skip - live.Count)).Take(take - items.Count);
        var endedViews = await Task.WhenAll(endedPage.Select(l => grains.Reference<IVmLeaseGrain>(l.LeaseId).GetView()));
        items.AddRange(endedViews.OfType<LeaseView>().Select(LeaseResponse.From));
        return TypedResults.Ok(PageResponse.Of(items, skip, take, live.Count + ended.Count));
    }

    public static async Task<Results<Ok<OrganisationResponse>, ProblemHttpResult>> SetLimitsAsync(
        long installationId, LimitsRequest request, IGrainFactory grains)
    {
        ArgumentNullException.ThrowIfNull(request);
        if (await FindOrganisationAsync(grains, installationId) is not { } current)
        {
            return OrganisationNotFound(installationId);
        }

        var problems = new List<string>();
        if (request.MaxConcurrentVms is < 0 or > 100_000)
        {
            problems.Add("maxConcurrentVms must be between 0 and 100000");
        }

        if (request.MaxJobLifetime is { } lifetime && (lifetime < TimeSpan.FromMinutes(1) || lifetime > TimeSpan.FromDays(7)))
        {
            problems.Add("maxJobLifetime must be between 00:01:00 and 7.00:00:00");
        }

        if (request.AllowedMachineTypes?.FirstOrDefault(l => !MachineLabels.IsOurs(l)) is { } foreign)
        {
            problems.Add($"allowedMachineTypes: '{foreign}' is not a {MachineLabels.Prefix} label");
        }

        if (request.RunnerGroupId is < 1)
        {
            problems.Add("runnerGroupId must be positive");
        }

        if (problems.Count > 0)
        {
            return BadRequest("Invalid limits", string.Join("; ", problems) + ".");
        }

        var limits = current.Limits with
        {
            MaxConcurrentVms = request.MaxConcurrentVms ?? current.Limits.MaxConcurrentVms,
            // Arrays: stored in the organisation's header, where a collection expression's generated type costs a codec lookup per write.
            AllowedMachineTypes = request.AllowedMachineTypes is { } allowed ? allowed.ToArray() : current.Limits.AllowedMachineTypes,
            MaxJobLifetime = request.MaxJobLifetime ?? current.Limits.MaxJobLifetime,
            RunnerGroupId = request.RunnerGroupId ?? current.Limits.RunnerGroupId,
        };
        return await grains.Reference<IOrganisationOperations>(installationId).SetLimits(limits) is { } view
            ? TypedResults.Ok(OrganisationResponse.From(view))
            : OrganisationNotFound(installationId);
    }

    public static async Task<Results<Ok<RepositoryPolicyResponse>, ProblemHttpResult>> GetRepositoryPolicyAsync(long installationId, IGrainFactory grains) =>
        await FindOrganisationAsync(grains, installationId) is null
            ? OrganisationNotFound(installationId)
            : TypedResults.Ok(RepositoryPolicyResponse.From(installationId, await grains.Reference<IOrganisationOperations>(installationId).GetRepositoryPolicy()));

    /// <summary>Which repositories may start VMs: an allow-list (empty: all) and the opt-in to public repositories.</summary>
    public static async Task<Results<Ok<RepositoryPolicyResponse>, ProblemHttpResult>> SetRepositoryPolicyAsync(
        long installationId, RepositoryPolicyRequest request, IGrainFactory grains)
    {
        ArgumentNullException.ThrowIfNull(request);
        if (request.AllowedRepositories is null && request.AllowPublicRepositories is null)
        {
            return BadRequest("Invalid repository policy", "Name allowedRepositories, allowPublicRepositories or both.");
        }

        var problems = (request.AllowedRepositories ?? []).Select(RepositoryPolicy.Validate).OfType<string>().Distinct().ToList();
        if (request.AllowedRepositories is { Count: > RepositoryPolicyLimit })
        {
            problems.Add($"allowedRepositories lists {request.AllowedRepositories.Count} repositories; at most {RepositoryPolicyLimit} are allowed");
        }

        if (problems.Count > 0)
        {
            return BadRequest("Invalid repository policy", string.Join("; ", problems) + ".");
        }

        if (await FindOrganisationAsync(grains, installationId) is null)
        {
            return OrganisationNotFound(installationId);
        }

        var organisation = grains.Reference<IOrganisationOperations>(installationId);
        var current = await organisation.GetRepositoryPolicy();
        var policy = new RepositoryPolicy
        {
            AllowedRepositories = request.AllowedRepositories is { } allowed ? allowed.ToArray() : current.AllowedRepositories,
            AllowPublicRepositories = request.AllowPublicRepositories ?? current.AllowPublicRepositories,
        };
        return await organisation.SetRepositoryPolicy(policy) is { } stored
            ? TypedResults.Ok(RepositoryPolicyResponse.From(installationId, stored))
            : OrganisationNotFound(installationId);
    }

    /// <summary>Repositories one allow-list may name: enough for any real organisation, bounded so the grain's state stays small.</summary>
    public const int RepositoryPolicyLimit = 10_000;

    public static async Task<Results<Ok<OperatorSuspensionResponse>, ProblemHttpResult>> SuspendAsync(
        long installationId, ReasonRequest? request, IGrainFactory grains) =>
        await grains.Reference<IOrganisationOperations>(installationId).Suspend(request?.Reason ?? "") is { } suspension
            ? TypedResults.Ok(new OperatorSuspensionResponse(installationId, true, suspension.Reason, suspension.Since))
            : OrganisationNotFound(installationId);

    public static async Task<Results<Ok<OperatorSuspensionResponse>, ProblemHttpResult>> ResumeAsync(long installationId, IGrainFactory grains) =>
        await grains.Reference<IOrganisationOperations>(installationId).Resume()
            ? TypedResults.Ok(new OperatorSuspensionResponse(installationId, false, null, null))
            : OrganisationNotFound(installationId);

    public static async Task<Results<Accepted<LeaseResponse>, ProblemHttpResult>> TerminateLeaseAsync(
        Guid leaseId, ReasonRequest? request, IGrainFactory grains)
    {
        var lease = grains.Reference<IVmLeaseGrain>(leaseId);
        if (await lease.GetView() is not { } before)
        {
            return NotFound("Lease not found", $"There is no lease {leaseId}.");
        }

        if (before.Phase.IsFinal())
        {
            return TypedResults.Problem(statusCode: StatusCodes.Status409Conflict, title: "Lease already ended",
                detail: $"Lease {leaseId} is {before.Phase.ToWire()}: {before.EndReason}");
        }

        var reason = string.IsNullOrWhiteSpace(request?.Reason) ? "no reason given" : request.Reason.Trim();
        await lease.Terminate($"terminated by an operator: {reason}");
        var after = await lease.GetView() ?? before;
        return TypedResults.Accepted($"/api/v1/leases/{leaseId}", LeaseResponse.From(after));
    }

    /// <summary>Sweeps the reconciler of <c>provider</c>, by default the compute provider this cluster is configured with.</summary>
    public static async Task<Ok<SweepResponse>> SweepAsync(string? provider, IGrainFactory grains, IConfiguration configuration)
    {
        var name = string.IsNullOrWhiteSpace(provider) ? configuration["Compute:Provider"] ?? "Simulated" : provider;
        var report = await grains.Reference<IReconcilerGrain>(name).Sweep();
        return TypedResults.Ok(SweepResponse.From(name, report));
    }

    internal static async Task<OrganisationView?> FindOrganisationAsync(IGrainFactory grains, long installationId)
    {
        var view = await grains.Reference<IOrganisationGrain>(installationId).GetView();
        return view.Status == OrganisationStatus.Unknown && view.LiveLeases == 0 && view.Login is null ? null : view;
    }

    internal static ProblemHttpResult OrganisationNotFound(long installationId) =>
        NotFound("Organisation not found", $"Installation {installationId} has never been seen.");

    private static (int Offset, int Limit)? Paging(int? offset, int? limit) =>
        offset is < 0 || limit is < 1 or > MaxLimit ? null : (offset ?? 0, limit ?? DefaultLimit);

    private static ProblemHttpResult BadPaging() =>
        BadRequest("Invalid paging", $"offset must be 0 or more and limit between 1 and {MaxLimit} (default {DefaultLimit}).");

    internal static ProblemHttpResult BadRequest(string title, string detail) =>
        TypedResults.Problem(statusCode: StatusCodes.Status400BadRequest, title: title, detail: detail);

    private static ProblemHttpResult NotFound(string title, string detail) =>
        TypedResults.Problem(statusCode: StatusCodes.Status404NotFound, title: title, detail: detail);
}
