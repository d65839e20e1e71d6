using Builtiful.Jobs;
using Builtiful.Leases;
using Builtiful.Machines;
using Builtiful.Organisations;
using Builtiful.Providers;
using static Builtiful.Decisions.Tests.AdmissionWorld;

namespace Builtiful.Decisions.Tests;

/// <summary>Each event of <see cref="AdmissionMachine"/> in the situations where its answer differs.</summary>
public sealed class AdmissionTableTests
{
    [Fact]
    public void A_job_queued_with_a_free_slot_gets_a_stored_slot_and_one_lease_ordered_with_its_labels_and_repository()
    {
        var world = new AdmissionWorld();
        var decision = world.Apply(new JobQueued(Job(1, "octo-org/app", ["self-hosted", "gpu"])));

        Assert.Equal(new Admission(AdmissionKind.Started, LeaseId: LeaseNumber(1)), decision.Reply);
        Assert.True(decision.Changed);
        var order = Assert.IsType<OrderLease>(Assert.Single(decision.Commands));
        Assert.Equal((LeaseNumber(1), 1L, false), (order.LeaseId, order.Job.JobId, order.Repair));
        var slot = world.State.Leases[LeaseNumber(1)];
        Assert.Equal(["self-hosted", "gpu"], slot.RunnerLabels);
        Assert.Equal("octo-org/app", slot.RunnerRepository);
    }

    [Fact]
    public void A_job_queued_at_the_limit_waits_in_line_and_the_tick_is_driven()
    {
        var world = new AdmissionWorld(maxConcurrentVms: 1);
        world.Queue(1);
        var decision = world.Apply(new JobQueued(Job(2)));

        Assert.Equal(new Admission(AdmissionKind.Waiting, Position: 1), decision.Reply);
        Assert.IsType<Drive>(Assert.Single(decision.Commands));
        Assert.Single(world.State.Leases);
        Assert.Equal([2L], world.State.WaitingLine.Select(w => w.JobId));
    }

    [Fact]
    public void WouldWait_is_true_only_for_a_new_job_at_the_limit()
    {
        var world = new AdmissionWorld(maxConcurrentVms: 1);
        Assert.False(world.Machine.WouldWait(world.State, Job(1)));
        world.Queue(1);
        Assert.True(world.Machine.WouldWait(world.State, Job(2)));
        Assert.False(world.Machine.WouldWait(world.State, Job(1)));
    }

    [Fact]
    public void A_redelivered_waiting_job_keeps_its_place_and_changes_nothing()
    {
        var world = new AdmissionWorld(maxConcurrentVms: 1);
        world.Queue(1);
        world.Queue(2);
        world.Queue(3);
        var decision = world.Apply(new JobQueued(Job(2)));

        Assert.Equal(new Admission(AdmissionKind.Duplicate, Position: 1), decision.Reply);
        Assert.False(decision.Changed);
        Assert.Empty(decision.Commands);
        Assert.Equal([2L, 3L], world.State.WaitingLine.Select(w => w.JobId));
    }

    [Fact]
    public void A_redelivered_admitted_job_orders_its_own_lease_again_and_no_new_one()
    {
        var world = new AdmissionWorld();
        world.Queue(1);
        var decision = world.Apply(new JobQueued(Job(1)));

        Assert.Equal(new Admission(AdmissionKind.Duplicate, LeaseId: LeaseNumber(1)), decision.Reply);
        Assert.Equal(LeaseNumber(1), Assert.IsType<OrderLease>(Assert.Single(decision.Commands)).LeaseId);
        Assert.Single(world.State.Leases);
    }

    [Theory]
    [InlineData("octo-org/app", "gpu", true)]
    [InlineData("octo-org/app", "arm", false)]
    [InlineData("octo-org/other", "gpu", false)]
    public void A_VM_whose_job_started_elsewhere_goes_to_a_waiting_heir_only_if_its_runner_can_take_it(string heirRepository, string heirLabel, bool inherits)
    {
        var world = new AdmissionWorld(maxConcurrentVms: 1);
        world.Queue(1, "octo-org/app", ["self-hosted", "gpu"]);
        world.Queue(2, heirRepository, ["self-hosted", heirLabel]);

        var decision = world.Apply(new JobStarted(1, null));

        var slot = world.State.Leases[LeaseNumber(1)];
        if (inherits)
        {
            Assert.Equal(2L, slot.ForJob?.JobId);
            Assert.Empty(world.State.WaitingLine);
            Assert.DoesNotContain(decision.Commands, c => c is ReleaseLease);
        }
        else
        {
            Assert.Null(slot.ForJob);
            Assert.Equal([2L], world.State.WaitingLine.Select(w => w.JobId));
            Assert.Equal(new ReleaseLease(LeaseNumber(1), "no queued job needs this VM any more", Surplus: true), Assert.Single(decision.Commands));
        }
    }

    [Fact]
    public void A_runner_that_took_another_job_swaps_VMs_when_the_other_runner_can_take_the_orphan()
    {
        var world = new AdmissionWorld();
        world.Queue(1);
        world.Queue(2);

        var decision = world.Apply(new JobStarted(1, LeaseNumber(2)));

        Assert.Equal(1L, world.State.Leases[LeaseNumber(2)].BoundJobId);
        Assert.Equal(2L, world.State.Leases[LeaseNumber(1)].ForJob?.JobId);
        Assert.Empty(world.State.WaitingLine);
        Assert.Equal([new CheckRunnerPolicy(LeaseNumber(2), 1)], decision.Commands);
    }

    [Fact]
    public void An_orphan_whose_job_cannot_inherit_goes_to_the_head_of_the_line_and_the_other_VM_is_released()
    {
        var world = new AdmissionWorld();
        world.Queue(1, "octo-org/one");
        world.Queue(2, "octo-org/two");
        world.Queue(3, "octo-org/three");

        var decision = world.Apply(new JobStarted(1, LeaseNumber(2)));

        Assert.Null(world.State.Leases[LeaseNumber(1)].ForJob);
        Assert.Equal([2L, 3L], world.State.WaitingLine.Select(w => w.JobId));
        Assert.Equal(0, world.State.WaitingLine[0].Attempts);
        Assert.Contains(new ReleaseLease(LeaseNumber(1), "no queued job needs this VM any more", Surplus: true), decision.Commands);
        Assert.DoesNotContain(decision.Commands, c => c is OrderLease);
    }

    [Fact]
    public void A_finished_job_frees_nothing_until_its_lease_reports_the_VM_gone()
    {
        var world = new AdmissionWorld(maxConcurrentVms: 1);
        world.Queue(1);
        world.Queue(2, "octo-org/other");

        var finished = world.Apply(new JobFinished(1));
        Assert.Single(world.State.Leases);
        Assert.DoesNotContain(finished.Commands, c => c is OrderLease);

        var gone = world.Gone(LeaseNumber(1));
        Assert.Equal(LeaseNumber(2), Assert.IsType<OrderLease>(Assert.Single(gone.Commands)).LeaseId);
        Assert.Equal(2L, world.State.Leases[LeaseNumber(2)].ForJob?.JobId);
    }

    [Theory]
    [InlineData(1, false, true)]
    [InlineData(3, false, false)]
    [InlineData(1, true, false)]
    public void A_lease_gone_before_its_job_started_is_retried_a_bounded_number_of_times_unless_refused(int attempts, bool refused, bool retried)
    {
        var world = new AdmissionWorld(options: new OrganisationOptions { ProvisionAttempts = 3 });
        world.Queue(1);
        world.State.Leases[LeaseNumber(1)].ForJob = world.State.Leases[LeaseNumber(1)].ForJob! with { Attempts = attempts };

        var decision = world.Gone(LeaseNumber(1), refused);

        if (retried)
        {
            var order = Assert.IsType<OrderLease>(Assert.Single(decision.Commands));
            Assert.Equal((LeaseNumber(2), 1L, attempts + 1), (order.LeaseId, order.Job.JobId, order.Job.Attempts));
        }
        else
        {
            Assert.Equal(1L, Assert.IsType<FailProvisioning>(Assert.Single(decision.Commands)).JobId);
            Assert.Empty(world.State.Leases);
        }
    }

    [Fact]
    public void A_lease_already_forgotten_changes_nothing()
    {
        var world = new AdmissionWorld();
        var decision = world.Gone(LeaseNumber(9));
        Assert.False(decision.Changed);
        Assert.Empty(decision.Commands);
    }

    [Fact]
    public void An_unknown_installation_parks_the_job_and_its_creation_admits_it()
    {
        var world = new AdmissionWorld(status: OrganisationStatus.Unknown);
        var parked = world.Apply(new JobQueued(Job(1)));
        Assert.Equal(new Admission(AdmissionKind.Parked, Position: 1), parked.Reply);
        Assert.Contains(new Drive(), parked.Commands);
        Assert.Empty(world.State.Leases);

        var created = world.Apply(new InstallationChanged(new InstallationChange { Action = InstallationAction.Created }));
        Assert.Equal(OrganisationStatus.Active, world.State.Status);
        Assert.Empty(world.State.ParkedLine);
        Assert.Equal(1L, Assert.Single(created.Commands.OfType<OrderLease>()).Job.JobId);
        Assert.Contains(new UpdateDirectory(), created.Commands);
    }

    [Fact]
    public void Parked_jobs_are_bounded_in_count_and_in_age()
    {
        var world = new AdmissionWorld(status: OrganisationStatus.Unknown, options: new OrganisationOptions { ParkedJobLimit = 1, ParkedJobMaxAge = TimeSpan.FromMinutes(10) });
        world.Queue(1);
        var full = world.Queue(2);
        Assert.Equal((AdmissionKind.Refused, RejectionCode.UnknownInstallation), (full.Kind, full.Code));

        world.Now += TimeSpan.FromMinutes(10);
        var tick = world.Apply(new Tick());
        Assert.Equal((1L, RejectionCode.UnknownInstallation), Assert.Single(tick.Commands.OfType<RefuseJob>()) is var r ? (r.JobId, r.Code) : default);
        Assert.Empty(world.State.ParkedLine);
    }

    [Fact]
    public void A_job_waiting_for_24_hours_is_dropped_as_expired_and_a_younger_one_stays()
    {
        var world = new AdmissionWorld(maxConcurrentVms: 1);
        world.Queue(1);
        world.Queue(2);
        world.Now += TimeSpan.FromHours(1);
        world.Queue(3);
        world.Now = Start + TimeSpan.FromHours(24);

        var tick = world.Apply(new Tick());

        var refused = Assert.Single(tick.Commands.OfType<RefuseJob>());
        Assert.Equal((2L, RejectionCode.Expired), (refused.JobId, refused.Code));
        Assert.Equal([3L], world.State.WaitingLine.Select(w => w.JobId));
        Assert.Contains(new CheckLeases(), tick.Commands);
    }

    [Fact]
    public void A_tick_with_nothing_kept_writes_the_state_then_stops_driving()
    {
        var world = new AdmissionWorld();
        var tick = world.Apply(new Tick());
        Assert.True(tick.Changed);
        Assert.Equal([new StopDriving()], tick.Commands);
    }

    [Fact]
    public void A_suspended_installation_refuses_jobs_and_its_suspension_releases_only_unbound_VMs()
    {
        var world = new AdmissionWorld();
        world.Queue(1);
        world.Queue(2);
        world.Apply(new JobStarted(1, LeaseNumber(1)));

        var suspended = world.Apply(new InstallationChanged(new InstallationChange { Action = InstallationAction.Suspended }));
        Assert.Equal([LeaseNumber(2)], suspended.Commands.OfType<ReleaseLease>().Select(r => r.LeaseId));

        var refused = world.Queue(3);
        Assert.Equal((AdmissionKind.Refused, RejectionCode.SuspendedInstallation), (refused.Kind, refused.Code));
    }

    [Fact]
    public void A_deleted_installation_terminates_every_VM_clears_the_line_and_ignores_later_changes()
    {
        var world = new AdmissionWorld(maxConcurrentVms: 1);
        world.Queue(1);
        world.Queue(2);

        var deleted = world.Apply(new InstallationChanged(new InstallationChange { Action = InstallationAction.Deleted }));
        Assert.Equal([LeaseNumber(1)], deleted.Commands.OfType<TerminateLease>().Select(t => t.LeaseId));
        Assert.Empty(world.State.WaitingLine);

        var later = world.Apply(new InstallationChanged(new InstallationChange { Action = InstallationAction.Created }));
        Assert.False(later.Applied);
        Assert.Equal(OrganisationStatus.Deleted, world.State.Status);
    }

    [Fact]
    public void An_operator_hold_refuses_jobs_releases_unbound_VMs_and_its_end_admits_the_line()
    {
        var world = new AdmissionWorld(maxConcurrentVms: 1);
        world.Queue(1);
        world.Queue(2);

        var held = world.Apply(new OperatorSuspended("  abuse  "));
        Assert.Equal("abuse", world.State.OperatorSuspension?.Reason);
        Assert.Equal(Start, world.State.OperatorSuspension?.Since);
        Assert.Contains(held.Commands, c => c is ReleaseLease { LeaseId: var id } && id == LeaseNumber(1));
        Assert.Equal(RejectionCode.OperatorSuspended, world.Queue(3).Code);

        // The released VM's job is still queued at GitHub: it goes back to the head of the line.
        world.Gone(LeaseNumber(1));
        Assert.Empty(world.State.Leases);
        Assert.Equal([1L, 2L], world.State.WaitingLine.Select(w => w.JobId));
        var resumed = world.Apply(new OperatorResumed());
        Assert.Equal(1L, Assert.Single(resumed.Commands.OfType<OrderLease>()).Job.JobId);
    }

    [Fact]
    public void An_operator_change_to_an_organisation_never_seen_does_not_apply()
    {
        var world = new AdmissionWorld(status: OrganisationStatus.Unknown);
        world.State.Login = null;
        Assert.False(world.Apply(new LimitsSet(new OrganisationLimits { MaxConcurrentVms = 5 })).Applied);
        Assert.False(world.Apply(new OperatorSuspended("x")).Applied);
        Assert.Null(world.State.OperatorSuspension);
    }

    [Fact]
    public void Raising_the_limit_admits_the_line_in_order()
    {
        var world = new AdmissionWorld(maxConcurrentVms: 1);
        world.Queue(1);
        world.Queue(2);
        world.Queue(3);

        var raised = world.Apply(new LimitsSet(new OrganisationLimits { MaxConcurrentVms = 3 }));
        Assert.Equal([2L, 3L], raised.Commands.OfType<OrderLease>().Select(o => o.Job.JobId));
    }

    [Theory]
    [InlineData("octo-org/app", RepositoryVisibility.Private, null)]
    [InlineData("octo-org/secret", RepositoryVisibility.Private, RejectionCode.RepositoryNotAllowed)]
    [InlineData("octo-org/app", RepositoryVisibility.Public, RejectionCode.PublicRepository)]
    [InlineData("octo-org/app", RepositoryVisibility.Unknown, RejectionCode.PublicRepository)]
    public void The_repository_policy_and_public_opt_in_decide_before_capacity(string repository, RepositoryVisibility visibility, RejectionCode? refusal)
    {
        var world = new AdmissionWorld();
        world.Apply(new PolicySet(new RepositoryPolicy { AllowedRepositories = [" OCTO-ORG/APP ", "octo-org/app"] }));
        Assert.Equal(["OCTO-ORG/APP"], world.State.RepositoryPolicy?.AllowedRepositories);

        var admission = world.Apply(new JobQueued(Job(1, repository) with { Visibility = visibility })).Reply!;

        Assert.Equal(refusal is null ? AdmissionKind.Started : AdmissionKind.Refused, admission.Kind);
        Assert.Equal(refusal ?? RejectionCode.Other, admission.Code);
    }

    [Fact]
    public void A_machine_type_outside_the_allowed_list_is_refused()
    {
        var world = new AdmissionWorld();
        world.State.Limits = new OrganisationLimits { MaxConcurrentVms = 2, AllowedMachineTypes = [Small.Label] };
        var admission = world.Apply(new JobQueued(Job(1, machine: Large))).Reply!;
        Assert.Equal((AdmissionKind.Refused, RejectionCode.MachineTypeNotAllowed), (admission.Kind, admission.Code));
    }

    [Fact]
    public void A_runner_found_running_a_refused_repository_job_loses_its_VM()
    {
        var world = new AdmissionWorld();
        world.Queue(1);
        world.Apply(new PolicySet(new RepositoryPolicy { AllowedRepositories = ["octo-org/app"] }));
        var job = new JobView { Id = 7, Status = JobStatus.InProgress, Repository = "octo-org/other", Visibility = RepositoryVisibility.Private };

        var refused = world.Apply(new RunnerRunning(LeaseNumber(1), 7, job));
        var allowed = world.Apply(new RunnerRunning(LeaseNumber(1), 7, job with { Repository = "octo-org/app" }));

        Assert.Equal(LeaseNumber(1), Assert.IsType<TerminateLease>(Assert.Single(refused.Commands)).LeaseId);
        Assert.Empty(allowed.Commands);
    }

    [Fact]
    public void Only_VMs_the_provider_reports_gone_are_reported_to_their_leases()
    {
        var world = new AdmissionWorld();
        world.Queue(1);
        world.Queue(2);
        var decision = world.Apply(new VmsObserved([
            new ObservedVm(LeaseNumber(1), "i-1", InstanceState.Terminated),
            new ObservedVm(LeaseNumber(2), "i-2", InstanceState.Running),
            new ObservedVm(LeaseNumber(9), "i-9", InstanceState.NotFound),
        ]));
        Assert.Equal([new ReportVmGone(LeaseNumber(1), "i-1", InstanceState.Terminated)], decision.Commands);
        Assert.False(decision.Changed);
    }

    [Fact]
    public void A_lease_never_stored_is_ordered_again_while_its_job_waits_and_its_slot_freed_once_bound()
    {
        var world = new AdmissionWorld(maxConcurrentVms: 1);
        world.Queue(1);
        var repair = world.Apply(new LeaseUnknown(LeaseNumber(1)));
        Assert.Equal(new OrderLease(LeaseNumber(1), Small, world.State.Leases[LeaseNumber(1)].ForJob!, Repair: true), Assert.Single(repair.Commands));

        world.Apply(new JobStarted(1, LeaseNumber(1)));
        world.Queue(2);
        var freed = world.Apply(new LeaseUnknown(LeaseNumber(1)));
        Assert.False(world.State.Leases.ContainsKey(LeaseNumber(1)));
        Assert.Equal(2L, Assert.Single(freed.Commands.OfType<OrderLease>()).Job.JobId);
    }
}

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
