using Builtiful.Jobs;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Builtiful.Organisations;

/// <summary>
/// Jobs the organisation keeps without a VM: parked ones, whose <c>queued</c> raced their installation's
/// <c>installation.created</c>, and waiting ones, in line for capacity. Both lines are bounded in time (GitHub cancels a job
/// queued for 24 hours) and the parked line also in count, so a stranger's jobs cannot grow memory without bound.
/// </summary>
public sealed partial class OrganisationGrain
{
    private TimeProvider Clock => ServiceProvider.GetRequiredKeyedService<TimeProvider>(BuiltifulClock.Key);

    /// <summary>Keeps the job of a not-yet-created installation until <c>installation.created</c> (or its age) decides.</summary>
    private async Task<Admission> ParkAsync(RunnerRequest request)
    {
        var index = Org.ParkedLine.FindIndex(p => p.Request.JobId == request.JobId);
        if (index >= 0)
        {
            return new Admission(AdmissionKind.Duplicate, Position: index + 1);
        }

        // Room is made by the old first, so a full line of stale jobs never turns away a fresh one.
        await DropStaleQueuedAsync();
        var limit = defaults.Value.ParkedJobLimit;
        if (Org.ParkedLine.Count >= limit)
        {
            return Refuse(RejectionCode.UnknownInstallation,
                $"installation {InstallationId} is unknown (its installation.created has not arrived) and already has {limit} jobs waiting for it");
        }

        Org.ParkedLine.Add(new ParkedJob { Request = request, ParkedAt = Clock.GetUtcNow() });
        await state.WriteStateAsync();

        // The organisation's tick is what rejects the job if installation.created never comes.
        await EnsureDrivingAsync();
        LogParked(logger, InstallationId, request.JobId, Org.ParkedLine.Count);
        return new Admission(AdmissionKind.Parked, Position: Org.ParkedLine.Count);
    }

    /// <summary>Once the installation is known, parked jobs are admitted (or refused, if it was suspended or deleted) in order.</summary>
    private async Task AdmitParkedAsync()
    {
        if (Org.Status == OrganisationStatus.Unknown || Org.ParkedLine.Count == 0)
        {
            return;
        }

        await DropStaleQueuedAsync();
        while (Org.ParkedLine.Count > 0)
        {
            // Removed before admission: any state write during the admission stores the line without this job.
            var next = Org.ParkedLine[0];
            Org.ParkedLine.RemoveAt(0);
            var admission = await RequestRunner(next.Request);
            if (admission.Kind == AdmissionKind.Refused)
            {
                await GrainFactory.GetGrain<IJobGrain>(next.Request.JobId).Refused(admission.Code, admission.Reason ?? "the organisation refused the job");
            }
        }

        await state.WriteStateAsync();
    }

    /// <summary>
    /// On the organisation's tick (and before parking): parked jobs older than <c>Organisations:ParkedJobMaxAge</c>, and
    /// parked or waiting jobs queued longer than <c>Organisations:QueuedJobLifetime</c>, are let go and their jobs rejected.
    /// </summary>
    private async Task DropStaleQueuedAsync()
    {
        var now = Clock.GetUtcNow();
        var options = defaults.Value;
        var dropped = new List<(long JobId, RejectionCode Code, string Reason)>();
        var lifetime = $"GitHub cancels a job queued for {Describe(options.QueuedJobLifetime)}, so Builtiful starts no VM for it";
        foreach (var waiting in Org.WaitingLine.Where(w => now - w.QueuedAt >= options.QueuedJobLifetime))
        {
            dropped.Add((waiting.JobId, RejectionCode.Expired, $"the job waited in line since {waiting.QueuedAt:O}: {lifetime}"));
        }

        Org.WaitingLine.RemoveAll(w => now - w.QueuedAt >= options.QueuedJobLifetime);
        foreach (var parked in Org.ParkedLine)
        {
            if (now - parked.Request.QueuedAt >= options.QueuedJobLifetime)
            {
                dropped.Add((parked.Request.JobId, RejectionCode.Expired, $"the job was queued at {parked.Request.QueuedAt:O}: {lifetime}"));
            }
            else if (now - parked.ParkedAt >= options.ParkedJobMaxAge)
            {
                dropped.Add((parked.Request.JobId, RejectionCode.UnknownInstallation,
                    $"installation {InstallationId} is unknown: its installation.created did not arrive within {Describe(options.ParkedJobMaxAge)} of the job's queued delivery"));
            }
        }

        if (dropped.Count == 0)
        {
            return;
        }

        var gone = dropped.Select(d => d.JobId).ToHashSet();
        Org.ParkedLine.RemoveAll(p => gone.Contains(p.Request.JobId));
        await state.WriteStateAsync();
        foreach (var (jobId, code, reason) in dropped)
        {
            LogDropped(logger, InstallationId, jobId, code.ToWire(), reason);
            await GrainFactory.GetGrain<IJobGrain>(jobId).Refused(code, reason);
        }
    }

    private static string Describe(TimeSpan span) => span.TotalHours >= 1
        ? $"{span.TotalHours.ToString("0.##", System.Globalization.CultureInfo.InvariantCulture)} hours"
        : $"{span.TotalMinutes.ToString("0.##", System.Globalization.CultureInfo.InvariantCulture)} minutes";

    /// <summary>The job left GitHub's queue (started or finished): it no longer waits in either line.</summary>
    private bool ForgetQueued(long jobId) =>
        (Org.WaitingLine.RemoveAll(w => w.JobId == jobId) + Org.ParkedLine.RemoveAll(p => p.Request.JobId == jobId)) > 0;

    [LoggerMessage(Level = LogLevel.Information, Message = "Installation {InstallationId} is not known yet: job {JobId} is parked ({Count} parked)")]
    private static partial void LogParked(ILogger logger, long installationId, long jobId, int count);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Installation {InstallationId}: job {JobId} dropped without a VM ({Code}): {Reason}")]
    private static partial void LogDropped(ILogger logger, long installationId, long jobId, string code, string reason);
}
