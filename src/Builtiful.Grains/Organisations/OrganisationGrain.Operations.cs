using Builtiful.Jobs;
using Microsoft.Extensions.DependencyInjection;

namespace Builtiful.Organisations;

/// <summary>The operator's side of an organisation: limits, an operator's suspension, job lists, and the directory entry.</summary>
public sealed partial class OrganisationGrain : IOrganisationOperations
{
    // Never seen: no installation delivery ever arrived, so there is nothing for an operator to change.
    private bool Unseen => Org.Status == OrganisationStatus.Unknown && Org.Login is null && Org.Leases.Count == 0;

    public async Task<OrganisationView?> SetLimits(OrganisationLimits limits)
    {
        ArgumentNullException.ThrowIfNull(limits);
        if (Unseen)
        {
            return null;
        }

        Org.Limits = limits;
        await state.WriteStateAsync();
        await AdmitWaitingAsync();
        return await GetView();
    }

    public async Task<OperatorSuspension?> Suspend(string reason)
    {
        if (Unseen)
        {
            return null;
        }

        if (Org.OperatorSuspension is { } existing)
        {
            return existing;
        }

        var time = ServiceProvider.GetRequiredKeyedService<TimeProvider>(BuiltifulClock.Key);
        Org.OperatorSuspension = new OperatorSuspension(string.IsNullOrWhiteSpace(reason) ? "no reason given" : reason.Trim(), time.GetUtcNow());
        await state.WriteStateAsync();
        await RegisterInDirectoryAsync();
        await ReleaseUnboundAsync($"an operator suspended the installation: {Org.OperatorSuspension.Reason}");
        return Org.OperatorSuspension;
    }

    public async Task<bool> Resume()
    {
        if (Unseen)
        {
            return false;
        }

        if (Org.OperatorSuspension is not null)
        {
            Org.OperatorSuspension = null;
            await state.WriteStateAsync();
            await RegisterInDirectoryAsync();
            await AdmitWaitingAsync();
        }

        return true;
    }

    public Task<OperatorSuspension?> GetSuspension() => Task.FromResult(Org.OperatorSuspension);

    public async Task<OrganisationJobs> GetJobs()
    {
        IReadOnlyList<long> running = [.. Org.Leases.Values.Select(s => s.BoundJobId).OfType<long>().Order()];
        return new OrganisationJobs(await GetPendingJobs(), running);
    }

    /// <summary>Refuses new jobs while an operator holds the installation; null when no one does.</summary>
    private Admission? OperatorRefusal() => Org.OperatorSuspension is { } suspension
        ? Refuse(RejectionCode.OperatorSuspended, $"installation {InstallationId} is suspended by an operator: {suspension.Reason}")
        : null;

    public async Task<RepositoryPolicy?> SetRepositoryPolicy(RepositoryPolicy policy)
    {
        ArgumentNullException.ThrowIfNull(policy);
        if (Unseen)
        {
            return null;
        }

        // Stored normalised: one entry per repository, whatever case the operator typed.
        Org.RepositoryPolicy = policy with
        {
            AllowedRepositories = [.. policy.AllowedRepositories.Select(r => r.Trim()).Distinct(StringComparer.OrdinalIgnoreCase).Order(StringComparer.OrdinalIgnoreCase)],
        };
        await state.WriteStateAsync();
        return Org.RepositoryPolicy;
    }

    public Task<RepositoryPolicy> GetRepositoryPolicy() => Task.FromResult(Policy);

    private RepositoryPolicy Policy => Org.RepositoryPolicy ?? new RepositoryPolicy();

    /// <summary>The allow-list first (it names the repository), then the public-repository opt-in; null when both allow the job.</summary>
    private Admission? RepositoryRefusal(RunnerRequest request)
    {
        if (!Policy.Allows(request.Repository))
        {
            return Refuse(RejectionCode.RepositoryNotAllowed,
                $"repository {(string.IsNullOrEmpty(request.Repository) ? "(none named)" : request.Repository)} is not on the repository allow-list of installation {InstallationId}");
        }

        if (request.Visibility.NeedsPublicOptIn() && !Policy.AllowPublicRepositories)
        {
            return Refuse(RejectionCode.PublicRepository, request.Visibility == RepositoryVisibility.Unknown
                ? $"the delivery does not say whether repository {request.Repository} is private, so it is treated as public; installation {InstallationId} has not opted in to public repositories"
                : $"repository {request.Repository} is public and installation {InstallationId} has not opted in to public repositories (pull requests from forks could run untrusted code)");
        }

        return null;
    }

    private static Admission Refuse(RejectionCode code, string reason) => new(AdmissionKind.Refused, Reason: reason, Code: code);

    private Task RegisterInDirectoryAsync() =>
        GrainFactory.GetGrain<IOrganisationDirectoryGrain>(IOrganisationDirectoryGrain.Key)
            .Register(new DirectoryEntry(InstallationId, Org.Login, Org.Status, Org.OperatorSuspension is not null));
}
