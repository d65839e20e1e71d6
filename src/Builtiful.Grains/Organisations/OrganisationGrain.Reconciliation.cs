namespace Builtiful.Organisations;

/// <summary>The organisation's side of the reconciler's sweep: slots whose lease ended unnoticed are freed.</summary>
public sealed partial class OrganisationGrain
{
    public async Task<int> Reconcile()
    {
        var freed = Org.Leases.Count > 0 ? await ForgetEndedLeasesAsync() : 0;
        await ApplyAsync(new CapacityCheck());
        return freed;
    }
}
