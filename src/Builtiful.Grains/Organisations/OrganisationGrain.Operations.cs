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
        ? new Admission(AdmissionKind.Refused, Reason: $"installation {InstallationId} is suspended by an operator: {suspension.Reason}")
        : null;

    private Task RegisterInDirectoryAsync() =>
        GrainFactory.GetGrain<IOrganisationDirectoryGrain>(IOrganisationDirectoryGrain.Key)
            .Register(new DirectoryEntry(InstallationId, Org.Login, Org.Status, Org.OperatorSuspension is not null));
}
