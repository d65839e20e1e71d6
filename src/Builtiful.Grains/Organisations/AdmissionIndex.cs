namespace Builtiful.Organisations;

/// <summary>
/// Lookups over an organisation's slots and waiting line that cost the same however many leases and waiting jobs it has:
/// the lease of a job, and whether a job waits. Never stored: it is built from the stored state on first use after a load,
/// kept in step by <see cref="AdmissionMachine"/> as it changes the state, and rebuilt whenever its counts disagree with it.
/// </summary>
internal sealed class AdmissionIndex
{
    private readonly Dictionary<long, Guid> _leaseOfJob = [];
    private readonly Dictionary<Guid, (long? MeantFor, long? Bound)> _jobsOfLease = [];
    private readonly HashSet<long> _waiting = [];
    private SlotDictionary? _slots;
    private WaitingLine? _line;

    /// <summary>The organisation's index, rebuilt if the slots or the line were replaced or changed behind its back.</summary>
    public static AdmissionIndex Of(OrganisationState org)
    {
        var index = org.Index ??= new AdmissionIndex();
        if (!ReferenceEquals(index._slots, org.Leases) || index._jobsOfLease.Count != org.Leases.Count)
        {
            index.RebuildSlots(org.Leases);
        }

        if (!ReferenceEquals(index._line, org.WaitingLine) || index._waiting.Count != org.WaitingLine.Count)
        {
            index.RebuildLine(org.WaitingLine);
        }

        return index;
    }

    /// <summary>The slot holding the job (meant for it or bound to it); checked against the slot itself.</summary>
    public (Guid Id, LeaseSlot Slot)? LeaseOf(long jobId) =>
        _leaseOfJob.TryGetValue(jobId, out var leaseId) && _slots!.TryGetValue(leaseId, out var slot)
            && (slot.BoundJobId == jobId || slot.ForJob?.JobId == jobId)
            ? (leaseId, slot)
            : null;

    public bool IsWaiting(long jobId) => _waiting.Contains(jobId);

    /// <summary>After a slot was added or its jobs changed.</summary>
    public void Slotted(Guid leaseId, LeaseSlot slot)
    {
        Unslotted(leaseId);
        var jobs = (slot.ForJob?.JobId, slot.BoundJobId);
        _jobsOfLease[leaseId] = jobs;
        foreach (var job in new[] { jobs.Item1, jobs.Item2 }.OfType<long>())
        {
            _leaseOfJob[job] = leaseId;
        }
    }

    /// <summary>After a slot was removed; a job another slot took over in the meantime keeps its entry.</summary>
    public void Unslotted(Guid leaseId)
    {
        if (!_jobsOfLease.Remove(leaseId, out var jobs))
        {
            return;
        }

        foreach (var job in new[] { jobs.MeantFor, jobs.Bound }.OfType<long>())
        {
            if (_leaseOfJob.TryGetValue(job, out var holder) && holder == leaseId)
            {
                _leaseOfJob.Remove(job);
            }
        }
    }

    public void Lined(long jobId) => _waiting.Add(jobId);

    public void Unlined(long jobId) => _waiting.Remove(jobId);

    private void RebuildSlots(SlotDictionary slots)
    {
        _slots = slots;
        _leaseOfJob.Clear();
        _jobsOfLease.Clear();
        foreach (var (leaseId, slot) in slots)
        {
            Slotted(leaseId, slot);
        }
    }

    private void RebuildLine(WaitingLine line)
    {
        _line = line;
        _waiting.Clear();
        _waiting.UnionWith(line.Select(w => w.JobId));
    }
}
