namespace Builtiful.Organisations;

/// <summary>
/// Releases and terminations are sent one way: the slot records the order first, the lease reports back when its VM is
/// gone (which frees the slot), and the tick sends an order again when no report came within
/// <c>Organisations:ReleaseResendAfter</c> (a one-way message is lost with a silo).
/// </summary>
public sealed partial class AdmissionMachine
{
    private static void SendRelease(Turn turn, Guid leaseId, string reason, bool surplus = false)
    {
        if (!turn.State.Leases.TryGetValue(leaseId, out var slot) || slot.Release is { Termination: true })
        {
            // A termination already ordered goes further than a release.
            return;
        }

        slot.Release = new SlotRelease { Reason = reason, SentAt = turn.Now };
        turn.State.Leases.Touch(leaseId);
        turn.Changed = true;
        turn.Commands.Add(new ReleaseLease(leaseId, reason, surplus));
    }

    private static void SendTermination(Turn turn, Guid leaseId, string reason)
    {
        if (!turn.State.Leases.TryGetValue(leaseId, out var slot) || slot.Release is { Termination: true })
        {
            return;
        }

        slot.Release = new SlotRelease { Reason = reason, SentAt = turn.Now, Termination = true };
        turn.State.Leases.Touch(leaseId);
        turn.Changed = true;
        turn.Commands.Add(new TerminateLease(leaseId, reason));
    }

    /// <summary>The runner took a job before it was deregistered: the lease keeps its VM for that job, so the release is over.</summary>
    private static void ReleaseOvertaken(LeaseSlot slot)
    {
        if (slot.Release is { Termination: false })
        {
            slot.Release = null;
        }
    }

    /// <summary>On the tick: orders whose lease has not reported back in time are sent again (the lease takes each idempotently).</summary>
    private void ResendOverdue(Turn turn)
    {
        foreach (var (leaseId, slot) in turn.State.Leases)
        {
            if (slot.Release is not { } release || turn.Now - release.SentAt < options.ReleaseResendAfter)
            {
                continue;
            }

            slot.Release = release with { SentAt = turn.Now };
            turn.State.Leases.Touch(leaseId);
            turn.Changed = true;
            turn.Commands.Add(release.Termination
                ? new TerminateLease(leaseId, release.Reason, Resend: true)
                : new ReleaseLease(leaseId, release.Reason, Resend: true));
        }
    }
}
