using Microsoft.Extensions.DependencyInjection;
using Orleans.Storage;

namespace Builtiful.Organisations;

/// <summary>
/// The organisation's slots and waiting line live in page records beside its own record (the header, which names them in
/// <see cref="OrganisationPages"/>), each stored under its own state name through the same grain storage, so sealed like
/// every other state. A change writes the pages it touched and the header, not every slot and the whole line. Slot page 0
/// and a line of one page are kept in the header itself: an organisation within one page of each writes one record per
/// change, as before the split.
/// </summary>
/// <remarks>
/// Crash-safety is shadow paging: a changed page is written to a record the stored header does not list, and only then
/// is the header written that lists it instead of the page's old record. The header's write is the one commit point: a
/// crash before it leaves the old header naming the old, untouched records (the turn is lost whole, before any command
/// ran, as with a single record); after it, every record it names is already stored. So header and pages never disagree,
/// and a slot or waiting job that moves between pages is never lost or doubled. A record the header stops listing is free
/// and a later write reuses it; a stale duplicate activation's page write can only land on a record the header does not
/// list (any record the live activation wrote since fails the version check), and its header write fails on the version.
/// An unlisted record keeps its page's old version until a write reuses it or the tick empties it.
/// </remarks>
public sealed partial class OrganisationGrain
{
    private const int PageReadsInFlight = 16;

    /// <summary>Every page record this activation read or wrote, with its stored version.</summary>
    private readonly Dictionary<int, GrainState<OrganisationPage>> _records = [];

    /// <summary>The stored record of each line page in the stored header, by the line's page id.</summary>
    private Dictionary<int, int> _lineRecords = [];

    /// <summary>Records that held a page the stored header no longer lists, not yet emptied.</summary>
    private readonly HashSet<int> _unlisted = [];

    /// <summary>Writes run one after another, even when a turn's background work decides; decisions made meanwhile share one.</summary>
    private readonly GroupCommit _commit = new();

    private IGrainStorage PageStorage => ServiceProvider.GetRequiredKeyedService<IGrainStorage>(StorageNames.Grains);

    private static string RecordName(int record) => string.Create(System.Globalization.CultureInfo.InvariantCulture, $"organisation-page-{record}");

    /// <summary>
    /// Reads every record the header ever used: the listed ones for their slots and jobs, the rest for their version, so
    /// that reusing one passes the storage's version check.
    /// </summary>
    private async Task LoadPagesAsync()
    {
        var pages = Org.Pages;
        var records = Enumerable.Range(0, pages.Records).ToList();
        for (var start = 0; start < records.Count; start += PageReadsInFlight)
        {
            await Task.WhenAll(records.Skip(start).Take(PageReadsInFlight).Select(ReadRecordAsync));
        }

        var slots = new SlotDictionary();
        slots.Load(0, pages.FirstSlots);
        for (var page = 0; page < pages.SlotPages.Count; page++)
        {
            slots.Load(page + 1, _records[pages.SlotPages[page]].State?.Slots ?? []);
        }

        var line = new WaitingLine();
        _lineRecords = [];
        if (pages.LinePages.Count == 0 && pages.OnlyLinePage.Count > 0)
        {
            line.Load(pages.OnlyLinePage);
        }

        foreach (var record in pages.LinePages)
        {
            _lineRecords[line.Load(_records[record].State?.Jobs ?? [])] = record;
        }

        // Records no page is on that still hold one (a write the header never listed, or not yet emptied) are emptied on the tick.
        var listed = pages.SlotPages.Concat(pages.LinePages).ToHashSet();
        _unlisted.UnionWith(records.Where(r => !listed.Contains(r) && _records[r].State is { } page && (page.Slots.Count > 0 || page.Jobs.Count > 0)));
        Org.Leases = slots;
        Org.WaitingLine = line;
        Org.Index = null;
    }

    private async Task<GrainState<OrganisationPage>> ReadRecordAsync(int record)
    {
        var stored = new GrainState<OrganisationPage>(new OrganisationPage());
        await PageStorage.ReadStateAsync(RecordName(record), this.GetGrainId(), stored);
        stored.State ??= new OrganisationPage();
        _records[record] = stored;
        return stored;
    }

    /// <summary>
    /// Stores the changed pages and then the header; one write at a time. Group commit: a decision made while a write is
    /// in flight joins the write queued behind it, which takes what it stores only when it starts.
    /// </summary>
    private Task WriteAsync() => _commit.WriteAsync(WritePagesAndHeaderAsync);

    /// <summary>
    /// On the tick: records the header stopped listing still hold their pages' old versions (jobs that may have left since);
    /// they are emptied, so that the stored state names only live jobs. A record reused meanwhile is left alone.
    /// </summary>
    private Task ScrubFreeRecordsAsync() => _unlisted.Count == 0 ? Task.CompletedTask : _commit.ExclusiveAsync(async () =>
    {
        var listed = Org.Pages.SlotPages.Concat(Org.Pages.LinePages).ToHashSet();
        var stale = _unlisted.Where(r => !listed.Contains(r)).ToList();
        _unlisted.Clear();
        try
        {
            await Task.WhenAll(stale.Select(r => WriteRecordAsync(r, new OrganisationPage())));
        }
        catch
        {
            _unlisted.UnionWith(stale);
            throw;
        }
    });

    private async Task WritePagesAndHeaderAsync()
    {
        // Everything written is taken before the first await: a turn deciding meanwhile marks its pages for the next write.
        var stored = Org.Pages;
        var free = new Queue<int>(Enumerable.Range(0, stored.Records).Except(stored.SlotPages).Except(stored.LinePages));
        var records = stored.Records;
        int Allocate() => free.TryDequeue(out var record) ? record : records++;

        var writes = new List<(int Record, OrganisationPage Page)>();
        var slotPages = stored.SlotPages.ToList();
        var dirtySlots = Org.Leases.TakeDirtyPages();
        var newPages = Enumerable.Range(slotPages.Count + 1, Math.Max(0, Org.Leases.PageCount - slotPages.Count - 1));
        foreach (var page in dirtySlots.Concat(newPages).Where(p => p > 0).Distinct())
        {
            var record = Allocate();
            writes.Add((record, new OrganisationPage { Slots = Org.Leases.PageContent(page) }));
            while (slotPages.Count < page)
            {
                slotPages.Add(record);
            }

            slotPages[page - 1] = record;
        }

        // A line on one page stays in the header; spread over several, each page is a record.
        var dirtyLine = Org.WaitingLine.TakeDirtyPages();
        var lineIds = Org.WaitingLine.PageIds.ToList();
        var linePages = new List<int>();
        var lineRecords = new Dictionary<int, int>();
        foreach (var pageId in lineIds.Count > 1 ? lineIds : [])
        {
            if (dirtyLine.Contains(pageId) || !_lineRecords.TryGetValue(pageId, out var record))
            {
                record = Allocate();
                writes.Add((record, new OrganisationPage { Jobs = Org.WaitingLine.PageContent(pageId) }));
            }

            linePages.Add(record);
            lineRecords[pageId] = record;
        }

        var header = new OrganisationPages
        {
            SlotPages = slotPages,
            LinePages = linePages,
            Records = records,
            FirstSlots = Org.Leases.PageCount > 0 ? Org.Leases.PageContent(0) : [],
            OnlyLinePage = lineIds.Count == 1 ? Org.WaitingLine.PageContent(lineIds[0]) : [],
        };
        try
        {
            await Task.WhenAll(writes.Select(w => WriteRecordAsync(w.Record, w.Page)));
            Org.Pages = header;
            await state.WriteStateAsync();
        }
        catch
        {
            // Nothing the stored header names was touched: the pages are marked again for the next write, and records
            // written for this header are emptied on the tick unless that write reuses them.
            Org.Pages = stored;
            _unlisted.UnionWith(writes.Select(w => w.Record));
            Org.Leases.MarkDirty(dirtySlots);
            Org.WaitingLine.MarkDirty(dirtyLine);
            throw;
        }

        _lineRecords = lineRecords;
        _unlisted.UnionWith(stored.SlotPages.Concat(stored.LinePages).Except(slotPages).Except(linePages));
    }

    private async Task WriteRecordAsync(int record, OrganisationPage page)
    {
        // A record beyond the stored header's count may hold a page of a write the header never got: its version is read first.
        var stored = _records.GetValueOrDefault(record) ?? await ReadRecordAsync(record);
        stored.State = page;
        await PageStorage.WriteStateAsync(RecordName(record), this.GetGrainId(), stored);
    }
}
