using Builtiful.Leases;
using Builtiful.Machines;
using Builtiful.Organisations;

namespace Builtiful.Decisions.Tests;

/// <summary>One organisation's state driven through <see cref="AdmissionMachine"/>, with lease ids 1, 2, 3... and a clock the test moves.</summary>
internal sealed class AdmissionWorld
{
    public const long InstallationId = 42;
    public static readonly DateTimeOffset Start = new(2026, 12, 1, 9, 0, 0, TimeSpan.Zero);
    public static readonly MachineType Small = new("builtiful-2cpu", 2, 4, CpuArchitecture.X64, "ubuntu-24.04", new Dictionary<string, string>());
    public static readonly MachineType Large = new("builtiful-8cpu", 8, 16, CpuArchitecture.X64, "ubuntu-24.04", new Dictionary<string, string>());

    private int _leases;

    public AdmissionWorld(int maxConcurrentVms = 2, OrganisationStatus status = OrganisationStatus.Active, OrganisationOptions? options = null)
    {
        Options = options ?? new OrganisationOptions();
        Machine = new AdmissionMachine(InstallationId, Options, () => LeaseNumber(++_leases));
        State = new OrganisationState { Status = status, Login = "octo-org", Limits = new OrganisationLimits { MaxConcurrentVms = maxConcurrentVms } };
    }

    public OrganisationOptions Options { get; }
    public AdmissionMachine Machine { get; }
    public OrganisationState State { get; }
    public DateTimeOffset Now { get; set; } = Start;

    public static Guid LeaseNumber(int n) => new(n, 0, 0, new byte[8]);

    public AdmissionDecision Apply(AdmissionEvent @event) => Machine.Decide(State, @event, Now);

    public static RunnerRequest Job(long jobId, string repository = "octo-org/app", string[]? labels = null, MachineType? machine = null, DateTimeOffset? queuedAt = null) => new()
    {
        JobId = jobId,
        MachineType = machine ?? Small,
        Labels = labels ?? ["self-hosted", (machine ?? Small).Label],
        QueuedAt = queuedAt ?? Start,
        Repository = repository,
        Visibility = Jobs.RepositoryVisibility.Private,
    };

    public Admission Queue(long jobId, string repository = "octo-org/app", string[]? labels = null) =>
        Apply(new JobQueued(Job(jobId, repository, labels, queuedAt: Now))).Reply!;

    public static LeaseView Ended(Guid leaseId, bool refused = false) =>
        new() { Id = leaseId, Phase = LeasePhase.Failed, EndReason = "the cloud had no capacity", Refused = refused };

    public AdmissionDecision Gone(Guid leaseId, bool refused = false) => Apply(new LeasesGone([new GoneLease(leaseId, Ended(leaseId, refused))]));
}
