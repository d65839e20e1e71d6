using Builtiful.Jobs;
using Builtiful.Leases;
using Builtiful.Organisations;

namespace Builtiful.Gateway.Admin;

public sealed record JobResponse(
    long Id,
    string Status,
    string? Conclusion,
    long InstallationId,
    string Repository,
    string? Branch,
    string HeadSha,
    IReadOnlyList<string> Labels,
    string? MachineType,
    DateTimeOffset? QueuedAt,
    DateTimeOffset? StartedAt,
    DateTimeOffset? CompletedAt,
    Guid? LeaseId,
    string? RejectionReason,
    long RunId,
    long RunAttempt,
    string? WorkflowName,
    string? JobName,
    double? QueueSeconds = null,
    double? DurationSeconds = null,
    long? BillableMinutes = null,
    bool Rejected = false,
    string? RejectionCode = null,
    string RepositoryVisibility = "unknown",
    string? InstanceId = null,
    string? RunnerName = null,
    bool AwaitingApproval = false,
    string? WaitingReason = null)
{
    public static JobResponse From(JobView v) => new(
        v.Id, v.Status.ToWire(), v.Conclusion, v.InstallationId, v.Repository, v.Branch, v.HeadSha, v.Labels, v.MachineType,
        v.QueuedAt, v.StartedAt, v.CompletedAt, v.LeaseId, v.RejectionReason, v.RunId, v.RunAttempt, v.WorkflowName, v.JobName,
        v.StartedAt - v.QueuedAt is { Ticks: >= 0 } queued ? queued.TotalSeconds : null,
        v.CompletedAt - v.StartedAt is { Ticks: >= 0 } ran ? ran.TotalSeconds : null,
        v is { LeaseId: not null, StartedAt: { } started, CompletedAt: { } completed } ? Usage.JobRun.MinutesBetween(started, completed) : null,
        v.RejectionReason is not null,
        v.RejectionReason is null ? null : (v.RejectionCode ?? Jobs.RejectionCode.Other).ToWire(),
        v.Visibility.ToWire(),
        AwaitingApproval: v.AwaitingApproval,
        WaitingReason: v.WaitingReason);
}

public sealed record LeaseResponse(
    Guid Id,
    string Phase,
    string? InstanceId,
    string? RunnerName,
    string? MachineType,
    long LaunchedForJobId,
    long? JobId,
    DateTimeOffset? LaunchedAt,
    DateTimeOffset? TerminatedAt,
    long InstallationId,
    DateTimeOffset? RequestedAt,
    DateTimeOffset? BootDeadline,
    DateTimeOffset? ExpiresAt,
    string? EndReason,
    string? LastError,
    int LaunchAttempts,
    int TerminationAttempts,
    string? Pool = null)
{
    public static LeaseResponse From(LeaseView v) => new(
        v.Id, v.Phase.ToWire(), v.InstanceId, v.RunnerName, v.MachineType, v.LaunchedForJobId, v.JobId, v.LaunchedAt, v.TerminatedAt,
        v.InstallationId, v.RequestedAt, v.BootDeadline, v.ExpiresAt, v.EndReason, v.LastError, v.LaunchAttempts, v.TerminationAttempts, v.Pool);
}

public sealed record LimitsResponse(int MaxConcurrentVms, IReadOnlyList<string> AllowedMachineTypes, TimeSpan MaxJobLifetime);

public sealed record OrganisationResponse(
    long InstallationId,
    string Status,
    string? Login,
    string? AccountType,
    int LiveLeases,
    int WaitingJobs,
    LimitsResponse Limits,
    IReadOnlyList<Guid> LeaseIds,
    IReadOnlyList<long> WaitingJobIds,
    int? RepositoryCount)
{
    public static OrganisationResponse From(OrganisationView v) => new(
        v.InstallationId, v.Status.ToString().ToLowerInvariant(), v.Login, v.AccountType, v.LiveLeases, v.WaitingJobs,
        new LimitsResponse(v.Limits.MaxConcurrentVms, v.Limits.AllowedMachineTypes, v.Limits.MaxJobLifetime),
        v.LeaseIds, v.WaitingJobIds, v.RepositoryCount);
}
