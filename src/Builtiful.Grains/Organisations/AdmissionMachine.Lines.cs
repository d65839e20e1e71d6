using System.Globalization;
using Builtiful.Jobs;

namespace Builtiful.Organisations;

/// <summary>
/// Jobs kept without a VM (parked ones, whose <c>queued</c> raced <c>installation.created</c>, and waiting ones), the tick
/// that bounds both lines in time, and the installation's and operator's changes that open or close admission.
/// </summary>
public sealed partial class AdmissionMachine
{
    /// <summary>Keeps the job of a not-yet-created installation until <c>installation.created</c> (or its age) decides.</summary>
    private Admission Park(Turn turn, RunnerRequest request)
    {
        var org = turn.State;
        var index = org.ParkedLine.FindIndex(p => p.Request.JobId == request.JobId);
        if (index >= 0)
        {
            return new Admission(AdmissionKind.Duplicate, Position: index + 1);
        }

        // Room is made by the old first, so a full line of stale jobs never turns away a fresh one.
        DropStale(turn);
        if (org.ParkedLine.Count >= options.ParkedJobLimit)
        {
            return Refuse(RejectionCode.UnknownInstallation,
                $"installation {installationId} is unknown (its installation.created has not arrived) and already has {options.ParkedJobLimit} jobs waiting for it");
        }

        org.ParkedLine.Add(new ParkedJob { Request = request, ParkedAt = turn.Now });
        turn.Changed = true;

        // The organisation's tick is what rejects the job if installation.created never comes.
        turn.Commands.Add(new Drive());
        return new Admission(AdmissionKind.Parked, Position: org.ParkedLine.Count);
    }

    /// <summary>Once the installation is known, parked jobs are admitted (or refused, if it was suspended or deleted) in order.</summary>
    private void AdmitParked(Turn turn)
    {
        var org = turn.State;
        if (org.Status == OrganisationStatus.Unknown || org.ParkedLine.Count == 0)
        {
            return;
        }

        DropStale(turn);
        while (org.ParkedLine.Count > 0)
        {
            var next = org.ParkedLine[0];
            org.ParkedLine.RemoveAt(0);
            var admission = Queue(turn, next.Request);
            if (admission.Kind == AdmissionKind.Refused)
            {
                turn.Commands.Add(new RefuseJob(next.Request.JobId, admission.Code, admission.Reason ?? "the organisation refused the job"));
            }
        }

        turn.Changed = true;
    }

    /// <summary>
    /// Parked jobs older than <c>Organisations:ParkedJobMaxAge</c>, and parked or waiting jobs queued longer than
    /// <c>Organisations:QueuedJobLifetime</c>, are let go and their jobs rejected.
    /// </summary>
    private void DropStale(Turn turn)
    {
        var org = turn.State;
        var now = turn.Now;
        var lifetime = $"GitHub cancels a job queued for {Describe(options.QueuedJobLifetime)}, so Builtiful starts no VM for it";
        var before = turn.Commands.Count;
        foreach (var waiting in org.WaitingLine.Where(w => now - w.QueuedAt >= options.QueuedJobLifetime))
        {
            turn.Commands.Add(new RefuseJob(waiting.JobId, RejectionCode.Expired, $"the job waited in line since {waiting.QueuedAt:O}: {lifetime}"));
        }

        if (org.WaitingLine.RemoveAll(w => now - w.QueuedAt >= options.QueuedJobLifetime) > 0)
        {
            // Rare and on the tick: the index sees the shorter line and rebuilds on its next use.
            org.Index = null;
        }
        var gone = new HashSet<long>();
        foreach (var parked in org.ParkedLine)
        {
            if (now - parked.Request.QueuedAt >= options.QueuedJobLifetime)
            {
                gone.Add(parked.Request.JobId);
                turn.Commands.Add(new RefuseJob(parked.Request.JobId, RejectionCode.Expired, $"the job was queued at {parked.Request.QueuedAt:O}: {lifetime}"));
            }
            else if (now - parked.ParkedAt >= options.ParkedJobMaxAge)
            {
                gone.Add(parked.Request.JobId);
                turn.Commands.Add(new RefuseJob(parked.Request.JobId, RejectionCode.UnknownInstallation,
                    $"installation {installationId} is unknown: its installation.created did not arrive within {Describe(options.ParkedJobMaxAge)} of the job's queued delivery"));
            }
        }

        org.ParkedLine.RemoveAll(p => gone.Contains(p.Request.JobId));
        turn.Changed |= turn.Commands.Count > before;
    }

    private static string Describe(TimeSpan span) => span.TotalHours >= 1
        ? $"{span.TotalHours.ToString("0.##", CultureInfo.InvariantCulture)} hours"
        : $"{span.TotalMinutes.ToString("0.##", CultureInfo.InvariantCulture)} minutes";

    /// <summary>The tick bounds the lines in time, then drives the leases, or stops when nothing is left to drive.</summary>
    private void Ticked(Turn turn)
    {
        DropStale(turn);
        var org = turn.State;
        if (org.Leases.Count == 0 && org.WaitingLine.Count == 0 && org.ParkedLine.Count == 0)
        {
            // Written first: a stale duplicate activation fails on the storage's version check instead of removing the
            // reminder the other activation's leases rely on.
            turn.Changed = true;
            turn.Commands.Add(new StopDriving());
            return;
        }

        ResendOverdue(turn);
        turn.Commands.Add(new CheckLeases());
    }

    private void Installation(Turn turn, InstallationChange change)
    {
        var org = turn.State;
        if (org.Status == OrganisationStatus.Deleted)
        {
            turn.Applied = false;
            return;
        }

        org.Login = change.AccountLogin ?? org.Login;
        org.AccountType = change.AccountType ?? org.AccountType;
        org.Username = change.SenderLogin ?? org.Username;
        org.Email = change.Email ?? org.Email;
        org.RepositoryCount = change.RepositoryCount ?? org.RepositoryCount;
        org.RepositorySelection = change.RepositorySelection ?? org.RepositorySelection;
        org.Limits ??= options.ToLimits();

        var before = org.Status;
        org.Status = (change.Action, before) switch
        {
            (InstallationAction.Created, OrganisationStatus.Unknown) => OrganisationStatus.Active,
            (InstallationAction.Suspended, OrganisationStatus.Active or OrganisationStatus.Unknown) => OrganisationStatus.Suspended,
            (InstallationAction.Unsuspended, OrganisationStatus.Suspended or OrganisationStatus.Unknown) => OrganisationStatus.Active,
            (InstallationAction.Deleted, _) => OrganisationStatus.Deleted,
            _ => before,
        };
        turn.Changed = true;
        turn.Commands.Add(new UpdateDirectory());
        switch (org.Status)
        {
            case OrganisationStatus.Deleted:
                // The deletion keeps no job waiting; every VM goes, bound or not.
                org.WaitingLine.Clear();
                org.Index = null;
                foreach (var leaseId in org.Leases.Keys)
                {
                    SendTermination(turn, leaseId, "the installation was deleted");
                }

                break;
            case OrganisationStatus.Suspended when before != OrganisationStatus.Suspended:
                ReleaseUnbound(turn, "the installation was suspended");
                break;
            case OrganisationStatus.Active when before != OrganisationStatus.Active:
                AdmitWaiting(turn);
                break;
        }

        AdmitParked(turn);
    }

    private static void ReleaseUnbound(Turn turn, string reason)
    {
        foreach (var leaseId in turn.State.Leases.Where(kv => kv.Value.BoundJobId is null).Select(kv => kv.Key).ToList())
        {
            SendRelease(turn, leaseId, reason);
        }
    }

    private static void Repositories(Turn turn, RepositoriesChange change)
    {
        var org = turn.State;
        if (org.RepositoryCount is { } count)
        {
            org.RepositoryCount = Math.Max(0, count + change.Added - change.Removed);
        }

        org.RepositorySelection = change.RepositorySelection ?? org.RepositorySelection;
        turn.Changed = true;
    }

    /// <summary>An operator's limits, hold and repository policy; none applies to an organisation no delivery ever named.</summary>
    private void Operate(Turn turn, AdmissionEvent @event)
    {
        var org = turn.State;
        if (org.Status == OrganisationStatus.Unknown && org.Login is null && org.Leases.Count == 0)
        {
            turn.Applied = false;
            return;
        }

        switch (@event)
        {
            case LimitsSet set:
                org.Limits = set.Limits;
                turn.Changed = true;
                AdmitWaiting(turn);
                break;
            case OperatorSuspended suspended when org.OperatorSuspension is null:
                org.OperatorSuspension = new OperatorSuspension(
                    string.IsNullOrWhiteSpace(suspended.Reason) ? "no reason given" : suspended.Reason.Trim(), turn.Now);
                turn.Changed = true;
                turn.Commands.Add(new UpdateDirectory());
                ReleaseUnbound(turn, $"an operator suspended the installation: {org.OperatorSuspension.Reason}");
                break;
            case OperatorResumed when org.OperatorSuspension is not null:
                org.OperatorSuspension = null;
                turn.Changed = true;
                turn.Commands.Add(new UpdateDirectory());
                AdmitWaiting(turn);
                break;
            case PolicySet policy:
                // Stored normalised: one entry per repository, whatever case the operator typed.
                org.RepositoryPolicy = policy.Policy with
                {
                    AllowedRepositories =
                    [
                        .. policy.Policy.AllowedRepositories.Select(r => r.Trim()).Distinct(StringComparer.OrdinalIgnoreCase).Order(StringComparer.OrdinalIgnoreCase),
                    ],
                };
                turn.Changed = true;
                break;
        }
    }
}
