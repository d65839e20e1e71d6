namespace Builtiful.Organisations;

/// <summary>The operator's side of an organisation: limits, an operator's suspension, job lists and the repository policy.</summary>
public sealed partial class OrganisationGrain : IOrganisationOperations
{
    /// <summary>Null when no installation delivery ever named the organisation: there is nothing for an operator to change.</summary>
    public async Task<OrganisationView?> SetLimits(OrganisationLimits limits)
    {
        ArgumentNullException.ThrowIfNull(limits);
        return (await ApplyAsync(new LimitsSet(limits))).Applied ? await GetView() : null;
    }

    public async Task<OperatorSuspension?> Suspend(string reason) =>
        (await ApplyAsync(new OperatorSuspended(reason))).Applied ? Org.OperatorSuspension : null;

    public async Task<bool> Resume() => (await ApplyAsync(new OperatorResumed())).Applied;

    public Task<OperatorSuspension?> GetSuspension() => Task.FromResult(Org.OperatorSuspension);

    public async Task<OrganisationJobs> GetJobs()
    {
        IReadOnlyList<long> running = [.. Org.Leases.Values.Select(s => s.BoundJobId).OfType<long>().Order()];
        return new OrganisationJobs(await GetPendingJobs(), running);
    }

    public async Task<RepositoryPolicy?> SetRepositoryPolicy(RepositoryPolicy policy)
    {
        ArgumentNullException.ThrowIfNull(policy);
        return (await ApplyAsync(new PolicySet(policy))).Applied ? Org.RepositoryPolicy : null;
    }

    public Task<RepositoryPolicy> GetRepositoryPolicy() => Task.FromResult(Org.RepositoryPolicy ?? new RepositoryPolicy());
}
