using Builtiful.Organisations;
using static Builtiful.Decisions.Tests.AdmissionWorld;

namespace Builtiful.Decisions.Tests;

/// <summary>Releases and terminations are sent one way, marked on the slot, freed on the lease's report and re-sent by the tick.</summary>
public sealed class AdmissionReleaseTests
{
    private const string Surplus = "no queued job needs this VM any more";

    [Fact]
    public void A_surplus_release_marks_the_slot_sent_at_now_and_keeps_it_counted_until_the_lease_reports_back()
    {
        var world = new AdmissionWorld(maxConcurrentVms: 1);
        world.Queue(1);
        world.Queue(2);

        var finished = world.Apply(new JobFinished(1));

        // The VM goes to the waiting job 2 (same repository and labels): no release at all.
        Assert.DoesNotContain(finished.Commands, c => c is ReleaseLease);
        world.Apply(new JobFinished(2));
        var slot = world.State.Leases[LeaseNumber(1)];
        Assert.Equal(new SlotRelease { Reason = Surplus, SentAt = Start }, slot.Release);

        var third = world.Queue(3);
        Assert.Equal(AdmissionKind.Waiting, third.Kind);

        var gone = world.Gone(LeaseNumber(1));
        Assert.False(world.State.Leases.ContainsKey(LeaseNumber(1)));
        Assert.Contains(gone.Commands, c => c is OrderLease { Job.JobId: 3 });
    }

    [Fact]
    public void The_tick_resends_an_overdue_release_once_per_interval_and_not_before()
    {
        var world = new AdmissionWorld(options: new OrganisationOptions { ReleaseResendAfter = TimeSpan.FromMinutes(5) });
        world.Queue(1);
        var released = world.Apply(new JobFinished(1));
        Assert.Contains(new ReleaseLease(LeaseNumber(1), Surplus, Surplus: true), released.Commands);

        world.Now = Start + TimeSpan.FromMinutes(4);
        Assert.DoesNotContain(world.Apply(new Tick()).Commands, c => c is ReleaseLease);

        world.Now = Start + TimeSpan.FromMinutes(5);
        var resent = world.Apply(new Tick());
        Assert.Contains(new ReleaseLease(LeaseNumber(1), Surplus, Resend: true), resent.Commands);
        Assert.True(resent.Changed);
        Assert.Equal(world.Now, world.State.Leases[LeaseNumber(1)].Release!.SentAt);

        world.Now += TimeSpan.FromMinutes(1);
        Assert.DoesNotContain(world.Apply(new Tick()).Commands, c => c is ReleaseLease);

        world.Gone(LeaseNumber(1));
        world.Now += TimeSpan.FromHours(1);
        Assert.DoesNotContain(world.Apply(new Tick()).Commands, c => c is ReleaseLease or TerminateLease);
    }

    [Fact]
    public void A_termination_is_resent_as_a_termination_and_a_later_release_does_not_weaken_it()
    {
        var world = new AdmissionWorld();
        world.Queue(1);
        world.Queue(2);
        var deleted = world.Apply(new InstallationChanged(new InstallationChange { Action = InstallationAction.Deleted }));
        Assert.Equal(2, deleted.Commands.OfType<TerminateLease>().Count());

        var finished = world.Apply(new JobFinished(1));
        Assert.DoesNotContain(finished.Commands, c => c is ReleaseLease);

        world.Now += TimeSpan.FromHours(1);
        var resent = world.Apply(new Tick());
        Assert.Equal([LeaseNumber(1), LeaseNumber(2)], resent.Commands.OfType<TerminateLease>().Where(t => t.Resend).Select(t => t.LeaseId).Order());
        Assert.DoesNotContain(resent.Commands, c => c is ReleaseLease);
    }

    [Fact]
    public void A_runner_that_takes_a_job_before_its_release_lands_keeps_its_VM_and_nothing_is_resent()
    {
        var world = new AdmissionWorld();
        world.Queue(1);
        world.Apply(new OperatorSuspended("audit"));
        Assert.NotNull(world.State.Leases[LeaseNumber(1)].Release);

        world.Apply(new JobStarted(1, LeaseNumber(1)));

        Assert.Null(world.State.Leases[LeaseNumber(1)].Release);
        world.Now += TimeSpan.FromHours(1);
        Assert.DoesNotContain(world.Apply(new Tick()).Commands, c => c is ReleaseLease);
    }
}

/// <summary>Which of the organisation's decisions may ride its next write (issue 19), and which are written at once.</summary>
public sealed class AdmissionWriteTests
{
    [Fact]
    public void A_runner_taking_the_job_its_VM_was_launched_for_rides_the_next_write()
    {
        var world = new AdmissionWorld();
        world.Queue(1);
        var meant = world.State.Leases[LeaseNumber(1)].ForJob;
        var started = world.Apply(new JobStarted(1, LeaseNumber(1)));

        Assert.False(started.Changed);
        Assert.True(started.Deferred);
        Assert.Equal(1, world.State.Leases[LeaseNumber(1)].BoundJobId);

        // Lost with the silo, the slot reads "launched for job 1" again: the job's end frees it (the VM is released,
        // nothing is launched), and a lease's end that comes first sends job 1 back to the line, where Finished takes it out.
        world.State.Leases[LeaseNumber(1)].BoundJobId = null;
        world.State.Leases[LeaseNumber(1)].ForJob = meant;
        var finished = world.Apply(new JobFinished(1));
        Assert.True(finished.Changed);
        Assert.DoesNotContain(finished.Commands, c => c is OrderLease);
        Assert.Null(world.State.Leases[LeaseNumber(1)].ForJob);
    }

    [Fact]
    public void A_runner_taking_another_job_than_its_VM_was_launched_for_is_written_at_once()
    {
        var world = new AdmissionWorld();
        world.Queue(1);
        world.Queue(2);
        var started = world.Apply(new JobStarted(2, LeaseNumber(1)));

        Assert.True(started.Changed);
        Assert.False(started.Deferred);
        Assert.Equal(2, world.State.Leases[LeaseNumber(1)].BoundJobId);
    }
}
