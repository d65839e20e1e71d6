using Builtiful.Organisations;
using Builtiful.Reconciliation;
using Builtiful.Usage;

namespace Builtiful.Gateway.Admin;

/// <summary>One page of a list: <c>nextOffset</c> is null on the last page.</summary>
public sealed record PageResponse<T>(IReadOnlyList<T> Items, int Offset, int Limit, int Total, int? NextOffset);

public static class PageResponse
{
    public static PageResponse<T> Of<T>(IReadOnlyList<T> items, int offset, int limit, int total) =>
        new(items, offset, limit, total, offset + items.Count < total ? offset + items.Count : null);
}

public sealed record OrganisationSummaryResponse(
    long InstallationId,
    string? Login,
    string Status,
    bool SuspendedByOperator,
    string? SuspensionReason,
    int LiveLeases,
    int WaitingJobs,
    int MaxConcurrentVms)
{
    public static OrganisationSummaryResponse From(OrganisationView view, OperatorSuspension? suspension) => new(
        view.InstallationId, view.Login, view.Status.ToString().ToLowerInvariant(), suspension is not null, suspension?.Reason,
        view.LiveLeases, view.WaitingJobs, view.Limits.MaxConcurrentVms);
}

public sealed record OperatorSuspensionResponse(long InstallationId, bool SuspendedByOperator, string? Reason, DateTimeOffset? Since);

public sealed record UsageResponse(
    string Month,
    long InstallationId,
    IReadOnlyDictionary<string, long> Minutes,
    int Jobs,
    long TotalMinutes,
    IReadOnlyDictionary<string, int> JobsByMachineType,
    double? QueueTimeP50Seconds,
    double? QueueTimeAverageSeconds,
    double? DurationAverageSeconds,
    IReadOnlyDictionary<string, int> Conclusions)
{
    public static UsageResponse From(UsageView v) => new(
        v.Month, v.InstallationId, v.Minutes, v.Jobs, v.TotalMinutes, v.JobsByMachineType,
        v.QueueTimeP50?.TotalSeconds, v.QueueTimeAverage?.TotalSeconds, v.DurationAverage?.TotalSeconds, v.Conclusions);
}

/// <summary>A sweep as operators see it; <c>newSuspects</c> are terminated only if the next sweep agrees.</summary>
public sealed record SweepResponse(string Provider, int InstancesExamined, int Terminated, IReadOnlyList<string> Reasons, bool Truncated,
    int InstancesLive, IReadOnlyList<string> NewSuspects, int Suspects, int ChecksFailed)
{
    public static SweepResponse From(string provider, SweepReport report) =>
        new(provider, report.InstancesExamined, report.Terminated, report.Reasons, report.Truncated,
            report.InstancesLive, report.NewSuspects, report.Suspects, report.ChecksFailed);
}

/// <summary>The limits to change; members left out keep their current value.</summary>
public sealed record LimitsRequest(int? MaxConcurrentVms, IReadOnlyList<string>? AllowedMachineTypes, TimeSpan? MaxJobLifetime, long? RunnerGroupId);

/// <summary>Why an operator acts; recorded on the organisation or the lease, and visible to other operators.</summary>
public sealed record ReasonRequest(string? Reason);

/// <summary>
/// An installation's repository policy. In a request, members left out keep their value; an empty
/// <c>allowedRepositories</c> removes the allow-list.
/// </summary>
public sealed record RepositoryPolicyRequest(IReadOnlyList<string>? AllowedRepositories, bool? AllowPublicRepositories);

public sealed record RepositoryPolicyResponse(long InstallationId, IReadOnlyList<string> AllowedRepositories, bool AllowPublicRepositories)
{
    public static RepositoryPolicyResponse From(long installationId, RepositoryPolicy policy) =>
        new(installationId, policy.AllowedRepositories, policy.AllowPublicRepositories);
}
