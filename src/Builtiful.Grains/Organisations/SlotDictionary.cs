using System.Collections;
using System.Diagnostics.CodeAnalysis;

namespace Builtiful.Organisations;

/// <summary>
/// An organisation's slots by lease, kept in fixed-size pages so that a change stores only the pages it touched. A new
/// slot goes to the lowest page with room; a page is never split or merged, so a slot stays on its page while it lives.
/// Changes in place (a slot's job, its release order) are marked with <see cref="Touch"/>; adding or removing marks its page.
/// </summary>
public sealed class SlotDictionary : IReadOnlyDictionary<Guid, LeaseSlot>
{
    public const int DefaultPageSize = 64;

    private readonly Dictionary<Guid, LeaseSlot> _slots = [];
    private readonly Dictionary<Guid, int> _pageOf = [];
    private readonly List<Dictionary<Guid, LeaseSlot>> _pages = [];
    private readonly SortedSet<int> _dirty = [];

    public SlotDictionary(int pageSize = DefaultPageSize) => PageSize = Math.Max(1, pageSize);

    public int PageSize { get; }

    public int Count => _slots.Count;

    public IEnumerable<Guid> Keys => _slots.Keys;

    public IEnumerable<LeaseSlot> Values => _slots.Values;

    /// <summary>Pages so far (some may be empty); page numbers are 0 to <c>PageCount - 1</c>.</summary>
    public int PageCount => _pages.Count;

    /// <summary>Pages changed since they were last taken by <see cref="TakeDirtyPages"/>.</summary>
    public IReadOnlySet<int> DirtyPages => _dirty;

    public LeaseSlot this[Guid key]
    {
        get => _slots[key];
        set
        {
            ArgumentNullException.ThrowIfNull(value);
            if (!_pageOf.TryGetValue(key, out var page))
            {
                page = PageWithRoom();
                _pageOf[key] = page;
            }

            _pages[page][key] = value;
            _slots[key] = value;
            _dirty.Add(page);
        }
    }

    public bool ContainsKey(Guid key) => _slots.ContainsKey(key);

    public bool TryGetValue(Guid key, [MaybeNullWhen(false)] out LeaseSlot value) => _slots.TryGetValue(key, out value);

    public bool Remove(Guid key, [MaybeNullWhen(false)] out LeaseSlot slot)
    {
        if (!_slots.Remove(key, out slot))
        {
            return false;
        }

        _pageOf.Remove(key, out var page);
        _pages[page].Remove(key);
        _dirty.Add(page);
        return true;
    }

    public bool Remove(Guid key) => Remove(key, out _);

    /// <summary>The slot was changed in place: its page is stored with the next write.</summary>
    public void Touch(Guid key)
    {
        if (_pageOf.TryGetValue(key, out var page))
        {
            _dirty.Add(page);
        }
    }

    /// <summary>A page's slots as they are now (a copy: the caller stores it while later turns change the table).</summary>
    public Dictionary<Guid, LeaseSlot> PageContent(int page) => new(_pages[page]);

    /// <summary>The changed pages, no longer marked: a write takes them with their content, and marks them again if it fails.</summary>
    public IReadOnlyList<int> TakeDirtyPages()
    {
        var taken = _dirty.ToList();
        _dirty.Clear();
        return taken;
    }

    /// <summary>Pages a failed write took: they are written with the next one.</summary>
    public void MarkDirty(IEnumerable<int> pages)
    {
        ArgumentNullException.ThrowIfNull(pages);
        _dirty.UnionWith(pages.Where(p => p < _pages.Count));
    }

    /// <summary>A stored page, read on activation: its slots keep their page. Not a change.</summary>
    public void Load(int page, IReadOnlyDictionary<Guid, LeaseSlot> slots)
    {
        ArgumentNullException.ThrowIfNull(slots);
        while (_pages.Count <= page)
        {
            _pages.Add([]);
        }

        foreach (var (leaseId, slot) in slots)
        {
            // Defensive: a lease on two pages (never written so) keeps its first.
            if (_slots.TryAdd(leaseId, slot))
            {
                _pageOf[leaseId] = page;
                _pages[page][leaseId] = slot;
            }
        }
    }

    public IEnumerator<KeyValuePair<Guid, LeaseSlot>> GetEnumerator() => _slots.GetEnumerator();

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();

    private int PageWithRoom()
    {
        // Pages are few (slots / page size); the lowest with room keeps them dense.
        for (var page = 0; page < _pages.Count; page++)
        {
            if (_pages[page].Count < PageSize)
            {
                return page;
            }
        }

        _pages.Add([]);
        return _pages.Count - 1;
    }
}
