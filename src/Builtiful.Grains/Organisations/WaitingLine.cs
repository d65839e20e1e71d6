using System.Collections;

namespace Builtiful.Organisations;

/// <summary>
/// An organisation's waiting line, oldest first, kept in ordered pages of at most <see cref="PageSize"/> jobs so that a
/// change stores only the pages it touched: a job joins the last page (or the first, when it goes back to the head), and a
/// page that a removal leaves empty is dropped, or merged with a neighbour when both fit in one page. Any two neighbouring
/// pages hold more than a page's worth of jobs, so the pages stay fewer than twice the jobs over the page size, plus one.
/// </summary>
public sealed class WaitingLine : IReadOnlyList<WaitingJob>
{
    public const int DefaultPageSize = 64;

    private readonly List<LinePage> _pages = [];
    private readonly HashSet<int> _dirty = [];
    private int _count;
    private int _nextPageId;

    public WaitingLine(int pageSize = DefaultPageSize) => PageSize = Math.Max(1, pageSize);

    public int PageSize { get; }

    public int Count => _count;

    /// <summary>The pages' ids, in line order: the order the stored header keeps.</summary>
    public IEnumerable<int> PageIds => _pages.Select(p => p.Id);

    /// <summary>Pages changed (or made) since they were last taken by <see cref="TakeDirtyPages"/>; dropped pages are not listed.</summary>
    public IReadOnlySet<int> DirtyPages => _dirty;

    public WaitingJob this[int index]
    {
        get
        {
            var (page, offset) = Locate(index);
            return _pages[page].Jobs[offset];
        }
    }

    public void Add(WaitingJob job)
    {
        ArgumentNullException.ThrowIfNull(job);
        if (_pages.Count == 0 || _pages[^1].Jobs.Count >= PageSize)
        {
            _pages.Add(NewPage());
        }

        _pages[^1].Jobs.Add(job);
        _dirty.Add(_pages[^1].Id);
        _count++;
    }

    /// <summary>Inserts before the job at <paramref name="index"/> (at the head, in practice); a full page gets a new neighbour.</summary>
    public void Insert(int index, WaitingJob job)
    {
        ArgumentNullException.ThrowIfNull(job);
        if (index == _count)
        {
            Add(job);
            return;
        }

        var (page, offset) = Locate(index);
        var split = false;
        if (_pages[page].Jobs.Count >= PageSize)
        {
            if (offset == 0)
            {
                // Before a full page: a new page in front of it, so the full page is not written.
                _pages.Insert(page, NewPage());
            }
            else
            {
                // Inside a full page: its tail moves to a new page after it.
                var tail = NewPage();
                tail.Jobs.AddRange(_pages[page].Jobs.Skip(offset));
                _pages[page].Jobs.RemoveRange(offset, _pages[page].Jobs.Count - offset);
                _pages.Insert(page + 1, tail);
                _dirty.Add(tail.Id);
                split = true;
            }
        }

        _pages[page].Jobs.Insert(offset, job);
        _dirty.Add(_pages[page].Id);
        _count++;

        // A split's tail may now fit into the page after it, and a split page into the page before it.
        if (split)
        {
            Compact(page + 1);
        }

        Compact(page);
    }

    public void RemoveAt(int index)
    {
        var (page, offset) = Locate(index);
        _pages[page].Jobs.RemoveAt(offset);
        _dirty.Add(_pages[page].Id);
        _count--;
        Compact(page);
    }

    public int RemoveAll(Predicate<WaitingJob> match)
    {
        ArgumentNullException.ThrowIfNull(match);
        var removed = 0;
        for (var page = _pages.Count - 1; page >= 0; page--)
        {
            var gone = _pages[page].Jobs.RemoveAll(match);
            if (gone > 0)
            {
                removed += gone;
                _count -= gone;
                _dirty.Add(_pages[page].Id);
                Compact(page);
            }
        }

        return removed;
    }

    public int FindIndex(Predicate<WaitingJob> match)
    {
        ArgumentNullException.ThrowIfNull(match);
        var before = 0;
        foreach (var page in _pages)
        {
            var found = page.Jobs.FindIndex(match);
            if (found >= 0)
            {
                return before + found;
            }

            before += page.Jobs.Count;
        }

        return -1;
    }

    public void Clear()
    {
        _pages.Clear();
        _dirty.Clear();
        _count = 0;
    }

    /// <summary>A page's jobs as they are now (a copy: the caller stores it while later turns change the line).</summary>
    public List<WaitingJob> PageContent(int pageId) => [.. _pages.First(p => p.Id == pageId).Jobs];

    /// <summary>The changed pages, no longer marked: a write takes them with their content, and marks them again if it fails.</summary>
    public IReadOnlySet<int> TakeDirtyPages()
    {
        var taken = new HashSet<int>(_dirty);
        _dirty.Clear();
        return taken;
    }

    /// <summary>Pages a failed write took: those still in the line are written with the next one.</summary>
    public void MarkDirty(IEnumerable<int> pageIds)
    {
        ArgumentNullException.ThrowIfNull(pageIds);
        var present = _pages.Select(p => p.Id).ToHashSet();
        _dirty.UnionWith(pageIds.Where(present.Contains));
    }

    /// <summary>A stored page, read on activation, appended in line order; returns its id. Not a change.</summary>
    public int Load(IEnumerable<WaitingJob> jobs)
    {
        ArgumentNullException.ThrowIfNull(jobs);
        var page = NewPage();
        page.Jobs.AddRange(jobs);
        _pages.Add(page);
        _count += page.Jobs.Count;
        return page.Id;
    }

    public IEnumerator<WaitingJob> GetEnumerator() => _pages.SelectMany(p => p.Jobs).GetEnumerator();

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();

    private LinePage NewPage() => new(_nextPageId++);

    private (int Page, int Offset) Locate(int index)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(index);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(index, _count);
        for (var page = 0; page < _pages.Count; page++)
        {
            if (index < _pages[page].Jobs.Count)
            {
                return (page, index);
            }

            index -= _pages[page].Jobs.Count;
        }

        throw new InvalidOperationException("the line's pages hold fewer jobs than its count");
    }

    /// <summary>After a removal from the page: an empty page is dropped; one that fits into a neighbour is merged into it.</summary>
    private void Compact(int page)
    {
        var jobs = _pages[page].Jobs;
        if (jobs.Count == 0)
        {
            _dirty.Remove(_pages[page].Id);
            _pages.RemoveAt(page);
            return;
        }

        if (page + 1 < _pages.Count && jobs.Count + _pages[page + 1].Jobs.Count <= PageSize)
        {
            jobs.AddRange(_pages[page + 1].Jobs);
            _dirty.Remove(_pages[page + 1].Id);
            _pages.RemoveAt(page + 1);
        }
        else if (page > 0 && jobs.Count + _pages[page - 1].Jobs.Count <= PageSize)
        {
            _pages[page - 1].Jobs.AddRange(jobs);
            _dirty.Add(_pages[page - 1].Id);
            _dirty.Remove(_pages[page].Id);
            _pages.RemoveAt(page);
        }
    }

    private sealed record LinePage(int Id)
    {
        public List<WaitingJob> Jobs { get; } = [];
    }
}
