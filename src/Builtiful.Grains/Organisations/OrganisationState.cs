using Builtiful.Machines;

namespace Builtiful.Organisations;

[GenerateSerializer, Alias("builtiful.organisation-state")]
public sealed record OrganisationState
{
    [Id(0)] public OrganisationStatus Status { get; set; }
    [Id(1)] public string? Login { get; set; }
    [Id(2)] public string? AccountType { get; set; }
    [Id(3)] public string? Username { get; set; }
    [Id(4)] public string? Email { get; set; }
    [Id(5)] public OrganisationLimits? Limits { get; set; }

    // Ids 6 and 7 held every slot and the whole waiting line in this record until the split into pages (issue 17):
    // never reuse them. That shape shipped only in this repository's tests, so it is not migrated.

    /// <summary>The slots, stored on their own pages (<see cref="Pages"/>); loaded on activation.</summary>
    [field: NonSerialized]
    public SlotDictionary Leases { get; set; } = new();

    /// <summary>The waiting line, stored on its own pages (<see cref="Pages"/>); loaded on activation.</summary>
    [field: NonSerialized]
    public WaitingLine WaitingLine { get; set; } = new();
    [Id(8)] public int? RepositoryCount { get; set; }
    [Id(9)] public string? RepositorySelection { get; set; }
    [Id(10)] public OperatorSuspension? OperatorSuspension { get; set; }
    /// <summary>The repository allow-list and public-repository opt-in an operator set; null: none, public refused.</summary>
    [Id(11)] public RepositoryPolicy? RepositoryPolicy { get; set; }
    /// <summary>Jobs of a not-yet-created installation, oldest first; bounded by <c>Organisations:ParkedJobLimit</c>.</summary>
    [Id(12)] public List<ParkedJob> ParkedLine { get; set; } = [];
    /// <summary>Which stored page records hold the slots and the waiting line; written after the pages it names.</summary>
    [Id(13)] public OrganisationPages Pages { get; set; } = new();

    /// <summary>Lookups by job over <see cref="Leases"/> and <see cref="WaitingLine"/>; not stored, rebuilt after a load.</summary>
    [field: NonSerialized]
    internal AdmissionIndex? Index { get; set; }
}

/// <summary>A job whose <c>queued</c> arrived before its installation's <c>installation.created</c>.</summary>
[GenerateSerializer, Alias("builtiful.parked-job")]
public sealed record ParkedJob
{
    [Id(0)] public required RunnerRequest Request { get; init; }
    /// <summary>The organisation's own clock when the job was parked: its age counts from here.</summary>
    [Id(1)] public required DateTimeOffset ParkedAt { get; init; }
}

/// <summary>
/// A live lease as the organisation counts it. <see cref="ForJob"/> is the queued job this VM is meant for;
/// when another job takes the VM, the two jobs swap VMs, so every queued job keeps exactly one runner. A VM only
/// ever serves a job its runner can take (<see cref="CanTake"/>), because GitHub hands it no other.
/// </summary>
[GenerateSerializer, Alias("builtiful.lease-slot")]
public sealed record LeaseSlot
{
    /// <summary>Every self-hosted runner has this label whether or not it was registered with it.</summary>
    private const string SelfHosted = "self-hosted";

    [Id(0)] public required MachineType MachineType { get; set; }
    [Id(1)] public PendingJob? ForJob { get; set; }
    [Id(2)] public long? BoundJobId { get; set; }
    /// <summary>The labels the VM's runner is registered with (its first job's).</summary>
    [Id(3)] public List<string> RunnerLabels { get; set; } = [];
    /// <summary>The repository (<c>owner/name</c>) the VM's runner is registered on; GitHub gives it only that repository's jobs.</summary>
    [Id(4)] public string? RunnerRepository { get; set; }
    /// <summary>A release or termination sent one way and not yet reported back; the tick sends it again when it is overdue.</summary>
    [Id(5)] public SlotRelease? Release { get; set; }
    /// <summary>When the organisation ordered the slot's lease: its deadlines count from here, in every order of it (a repair too).</summary>
    [Id(6)] public DateTimeOffset? OrderedAt { get; set; }

    /// <summary>Whether GitHub would give this VM's runner the job: same repository, and every label of the job among the runner's.</summary>
    public bool CanTake(string machineType, IReadOnlyList<string> labels, string? repository) =>
        RunnerRepository is not null
        && string.Equals(RunnerRepository, repository, StringComparison.OrdinalIgnoreCase)
        && MachineType.Label.Equals(machineType, StringComparison.OrdinalIgnoreCase)
        && labels.All(l => l.Equals(SelfHosted, StringComparison.OrdinalIgnoreCase) || RunnerLabels.Contains(l, StringComparer.OrdinalIgnoreCase));
}

/// <summary>What the organisation ordered of a slot's lease, and when it last sent it.</summary>
[GenerateSerializer, Immutable, Alias("builtiful.slot-release")]
public sealed record SlotRelease
{
    [Id(0)] public required string Reason { get; init; }
    [Id(1)] public required DateTimeOffset SentAt { get; init; }
    /// <summary>A termination (whatever the VM does) rather than a release (a runner that took a job keeps its VM).</summary>
    [Id(2)] public bool Termination { get; init; }
}

[GenerateSerializer, Alias("builtiful.waiting-job")]
public sealed record WaitingJob
{
    [Id(0)] public required long JobId { get; init; }
    [Id(1)] public required MachineType MachineType { get; init; }
    [Id(2)] public required IReadOnlyList<string> Labels { get; init; }
    [Id(3)] public required DateTimeOffset QueuedAt { get; init; }
    [Id(4)] public string? Repository { get; init; }
    /// <summary>Leases already started for this job; bounded by <c>Organisations:ProvisionAttempts</c>.</summary>
    [Id(5)] public int Attempts { get; init; }

    public PendingJob ToPending() => new(JobId, MachineType.Label, Labels, QueuedAt, Repository, Attempts + 1);
}

/// <summary>
/// The organisation record's directory of its pages. Slot page 0, and the waiting line while it fits on one page, are kept
/// in this record itself, so an organisation within one page of each writes one record per change as before the split.
/// The other pages are page records: the record number of each slot page from page 1 on (by page number) and of each
/// waiting-line page (in line order, when the line spans several pages). Records are numbered 0 to
/// <see cref="Records"/> - 1 and reused once unlisted.
/// </summary>
[GenerateSerializer, Alias("builtiful.organisation-pages")]
public sealed record OrganisationPages
{
    /// <summary>The records of slot pages 1, 2, ...: page 0 is <see cref="FirstSlots"/>.</summary>
    [Id(0)] public List<int> SlotPages { get; init; } = [];
    /// <summary>The records of the line's pages when it spans more than one; empty when <see cref="OnlyLinePage"/> holds it.</summary>
    [Id(1)] public List<int> LinePages { get; init; } = [];
    [Id(2)] public int Records { get; init; }
    [Id(3)] public Dictionary<Guid, LeaseSlot> FirstSlots { get; init; } = [];
    [Id(4)] public List<WaitingJob> OnlyLinePage { get; init; } = [];
}

/// <summary>One stored page record: a slot page's slots or a line page's jobs (never both).</summary>
[GenerateSerializer, Alias("builtiful.organisation-page")]
public sealed record OrganisationPage
{
    [Id(0)] public Dictionary<Guid, LeaseSlot> Slots { get; set; } = [];
    [Id(1)] public List<WaitingJob> Jobs { get; set; } = [];
}
