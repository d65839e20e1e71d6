namespace Builtiful.Organisations;

public sealed class OrganisationDirectoryGrain(
    [PersistentState("organisation-directory", StorageNames.Grains)] IPersistentState<OrganisationDirectoryState> state) : Grain, IOrganisationDirectoryGrain
{
    private Dictionary<long, DirectoryEntry> Entries => state.State.Entries;

    public async Task Register(DirectoryEntry entry)
    {
        ArgumentNullException.ThrowIfNull(entry);
        if (Entries.TryGetValue(entry.InstallationId, out var known) && known == entry)
        {
            return;
        }

        Entries[entry.InstallationId] = entry;
        await state.WriteStateAsync();
    }

    public Task<DirectoryPage> List(OrganisationStatus? status, int offset, int limit)
    {
        var matching = Entries.Values.Where(e => status is not { } wanted || e.Status == wanted).OrderBy(e => e.InstallationId).ToList();
        IReadOnlyList<DirectoryEntry> page = [.. matching.Skip(Math.Max(0, offset)).Take(Math.Max(0, limit))];
        return Task.FromResult(new DirectoryPage(page, matching.Count));
    }
}
