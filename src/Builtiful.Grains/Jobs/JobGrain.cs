using Builtiful.Leases;
using Builtiful.Machines;
using Builtiful.Organisations;
using Builtiful.Retention;
using Builtiful.Usage;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Builtiful.Jobs;

public sealed partial class JobGrain(
    IGrainContext context,
    MachineCatalogue catalogue,
    [FromKeyedServices(BuiltifulClock.Key)] TimeProvider time,
    ILogger<JobGrain> logger) : Grain, IJobGrain
{
    /// <summary>The job's record, read when the activation starts (<see cref="OnActivateAsync"/>).</summary>
    private readonly StoredState<JobState> state = new("job", context, logger);

    private JobState Job => state.State;

    /// <summary>The state holds an in_progress that was not written on its own (<see cref="Storing"/>): the next write stores it.</summary>
    private bool _unwritten;

    /// <summary>This activation's request started a lease for the job: its runner's in_progress comes within the VM's boot.</summary>
    private bool _vmStarted;

    public async Task<JobEventOutcome> Apply(WorkflowJobEvent jobEvent)
    {
        ArgumentNullException.ThrowIfNull(jobEvent);
        JobEventOutcome outcome;
        try
        {
            outcome = await ApplyAsync(jobEvent);
        }
        catch
        {
            // The delivery failed part-way (a grain it called, or the write): what this activation holds may say more than
            // what happened, so none of it is written and the next call, GitHub's redelivery, starts from storage.
            _unwritten = false;
            DeactivateOnIdle();
            throw;
        }

        if (!Stays(Job, _unwritten, _vmStarted))
        {
            DeactivateOnIdle();
        }

        return outcome;
    }

    private async Task<JobEventOutcome> ApplyAsync(WorkflowJobEvent jobEvent)
    {
        if (Job.Known && jobEvent.Action.Rank() <= Job.Status.Rank())
        {
            LogIgnored(logger, this.GetPrimaryKeyLong(), jobEvent.Action, Job.Status);
            return JobEventOutcome.Ignored;
        }

        var firstSeen = !Job.Known;
        if (Job.Known && Job.Status == JobStatus.Waiting && jobEvent.Action == JobStatus.Queued)
        {
            Job.ApprovedAt = time.GetUtcNow();
        }

        Record(jobEvent);

        // Indexed for retention before the job's record is first written (below), so no record of this job can escape
        // deletion; the index's shared write runs while the job asks for its runner.
        var indexed = firstSeen
            ? GrainFactory.Reference<IRetentionHourGrain>(RetentionKeys.Current(Job.InstallationId, Job.RecordedAt!.Value)).AddJob(this.GetPrimaryKeyLong())
            : Task.CompletedTask;
        var outcome = JobEventOutcome.Applied;
        try
        {
            switch (jobEvent.Action)
            {
                case JobStatus.Queued when !Job.RunnerRequested && Job.RejectionReason is null:
                    outcome = await RequestRunnerAsync();
                    break;
                case JobStatus.Waiting:
                    // A protection rule holds the job: a VM now would idle to its boot deadline while nobody approves.
                    LogAwaitingApproval(logger, this.GetPrimaryKeyLong());
                    break;
                case JobStatus.InProgress:
                    Job.StartedAt ??= jobEvent.StartedAt ?? time.GetUtcNow();
                    await BindLeaseAsync(jobEvent.RunnerName);
                    break;
                case JobStatus.Completed:
                    Job.StartedAt ??= jobEvent.StartedAt;
                    Job.Conclusion = jobEvent.Conclusion;
                    Job.CompletedAt ??= jobEvent.CompletedAt ?? time.GetUtcNow();
                    if (Job.LeaseId is null)
                    {
                        // A job can finish without an in_progress ever arriving: bind from the runner it names.
                        await BindLeaseAsync(jobEvent.RunnerName);
                    }

                    await FinishAsync();
                    await Usage.UsageRecording.RecordAsync(GrainFactory, this.GetPrimaryKeyLong(), Job, jobEvent);
                    break;
            }
        }
        catch
        {
            await ObservedAsync(indexed);
            throw;
        }

        await indexed;
        if (Storing(firstSeen, jobEvent.Action) == JobWrite.Defer)
        {
            _unwritten = true;
        }
        else
        {
            await WriteAsync();
        }

        return outcome;
    }

    public async Task ProvisioningFailed(string reason)
    {
        if (!Job.Known || Job.Status.Rank() >= JobStatus.InProgress.Rank())
        {
            return;
        }

        Reject(RejectionCode.ProvisioningFailed, reason);
        await WriteAndRestAsync();
    }

    public async Task Refused(RejectionCode code, string reason)
    {
        if (!Job.Known || Job.Status.Rank() >= JobStatus.InProgress.Rank() || Job.RejectionReason is not null)
        {
            return;
        }

        Reject(code, reason);
        await WriteAndRestAsync();
    }

    /// <summary>
    /// A job's record is written when it is first seen, when it is admitted or refused, and when it completes. Its
    /// in_progress is not written on its own: it is no crash-safety point. Every later delivery carries what it said
    /// (<c>completed</c> names the runner and the start again), and a lease that lost the binding too keeps the VM of a
    /// busy runner, since GitHub refuses to remove it. A job restarted without it binds from <c>completed</c>, as a job
    /// whose in_progress never came.
    /// The change is stored by the job's next write, or when the activation goes (<see cref="OnDeactivateAsync"/>).
    /// </summary>
    internal static JobWrite Storing(bool firstSeen, JobStatus action) =>
        action == JobStatus.InProgress && !firstSeen ? JobWrite.Defer : JobWrite.Now;

    /// <summary>
    /// Whether the activation stays once a delivery is answered. It stays while it holds an in_progress that is not stored
    /// on its own (<see cref="Storing"/>), and while a VM started for the job boots: the runner's in_progress comes within
    /// the boot, and reading the record back then would cost a read per job on the hot path (docs/performance.md, "A job
    /// waiting for approval or in line keeps no activation"). Otherwise what the job waits for comes minutes or hours later,
    /// or never: an approval, a place in the organisation's line, its installation, nothing once it completed or was
    /// refused. Its record is stored, so the activation goes and the next delivery reads it back.
    /// </summary>
    internal static bool Stays(JobState job, bool unwritten, bool vmStarted) =>
        unwritten || (vmStarted && job.Status == JobStatus.Queued && job.RejectionReason is null);

    public override Task OnActivateAsync(CancellationToken cancellationToken) => state.ReadStateAsync();

    public override async Task OnDeactivateAsync(DeactivationReason reason, CancellationToken cancellationToken)
    {
        if (_unwritten && Job.Known)
        {
            try
            {
                await WriteAsync();
            }
            catch (Exception ex)
            {
                // Nothing is lost that a later delivery does not carry again; the stored record says queued until then.
                LogDeferredWriteFailed(logger, this.GetPrimaryKeyLong(), ex.Message);
            }
        }

        await base.OnDeactivateAsync(reason, cancellationToken);
    }

    /// <summary>Waits for a task whose failure does not matter any more: the delivery failed already, and that failure is reported.</summary>
    private static async Task ObservedAsync(Task task)
    {
        try
        {
            await task;
        }
        catch (Exception)
        {
            // The retention add failed too; the delivery's own failure is the one its caller hears.
        }
    }

    private async Task WriteAsync()
    {
        await state.WriteStateAsync();
        _unwritten = false;
    }

    /// <summary>Writes the record of a job that now waits longer than a boot (a launch that keeps failing, a refusal), and lets the activation go.</summary>
    private async Task WriteAndRestAsync()
    {
        await WriteAsync();
        DeactivateOnIdle();
    }

    public async Task<RetentionOutcome> Forget(DateTimeOffset abandonedBefore)
    {
        if (!Job.Known)
        {
            return RetentionOutcome.Absent;
        }

        var finished = Job.Status == JobStatus.Completed || Job.RejectionReason is not null;
        if (!finished && (Job.RecordedAt ?? Job.QueuedAt) >= abandonedBefore)
        {
            return RetentionOutcome.Kept;
        }

        var jobId = this.GetPrimaryKeyLong();
        if (!finished && Job.InstallationId != 0 && Job.RunnerRequested)
        {
            // GitHub gave up on this job long ago and its completion never reached us: the organisation lets it go too.
            await GrainFactory.Reference<IOrganisationGrain>(Job.InstallationId).JobFinished(jobId);
        }

        if (Job is { InstallationId: not 0, LeaseId: not null, CompletedAt: { } completed })
        {
            // Billed minutes stay; the repository they were billed for does not.
            await GrainFactory.Reference<IUsageHourGrain>(UsageHour.Key(Job.InstallationId, completed)).ForgetRepository(jobId);
        }

        await state.ClearStateAsync();
        state.State = new JobState();
        _unwritten = false;
        LogForgotten(logger, jobId);
        DeactivateOnIdle();
        return RetentionOutcome.Deleted;
    }

    public Task<JobView?> GetView() => Task.FromResult(Job.Known
        ? new JobView
        {
            Id = this.GetPrimaryKeyLong(),
            Status = Job.Status,
            Conclusion = Job.Conclusion,
            InstallationId = Job.InstallationId,
            Repository = Job.Repository,
            Branch = Job.Branch,
            HeadSha = Job.HeadSha,
            Labels = Job.Labels.ToArray(),
            MachineType = Job.MachineType,
            QueuedAt = Job.QueuedAt,
            StartedAt = Job.StartedAt,
            CompletedAt = Job.CompletedAt,
            LeaseId = Job.LeaseId,
            RejectionReason = Job.RejectionReason,
            RejectionCode = Job.RejectionCode,
            Visibility = Job.Visibility,
            RunId = Job.RunId,
            RunAttempt = Job.RunAttempt,
            WorkflowName = Job.WorkflowName,
            JobName = Job.JobName,
            AwaitingApproval = Job.Status == JobStatus.Waiting,
            WaitingReason = Job.Status == JobStatus.Queued && Job.RejectionReason is null ? Job.WaitingReason : null,
        }
        : null);

    private void Record(WorkflowJobEvent e)
    {
        if (!Job.Known)
        {
            Job.Known = true;
            Job.RunId = e.RunId;
            Job.RunAttempt = e.RunAttempt;
            Job.Repository = e.Repository;
            Job.Branch = e.Branch;
            Job.HeadSha = e.HeadSha;
            Job.WorkflowName = e.WorkflowName;
            Job.JobName = e.JobName;
            Job.Labels = [.. e.Labels];
            Job.QueuedAt = e.CreatedAt ?? time.GetUtcNow();
            Job.RecordedAt = time.GetUtcNow();
            Job.Visibility = e.Visibility;
        }

        if (Job.InstallationId == 0)
        {
            Job.InstallationId = e.InstallationId;
        }

        Job.Status = e.Action;
    }

    private async Task<JobEventOutcome> RequestRunnerAsync()
    {
        var match = catalogue.Match(Job.Labels);
        if (!match.IsOurs)
        {
            // The gateway filters these out; a job reaching here without our label still launches nothing.
            return Reject(RejectionCode.UnservedLabel, "the job's labels name no builtiful- machine type");
        }

        if (match.MachineType is not { } machineType)
        {
            return Reject(RejectionCode.UnservedLabel, match.Reason!);
        }

        Job.MachineType = machineType.Label;
        if (Job.InstallationId == 0)
        {
            return Reject(RejectionCode.NoInstallation, "the delivery named no GitHub App installation");
        }

        var admission = await GrainFactory.Reference<IOrganisationGrain>(Job.InstallationId).RequestRunner(new RunnerRequest
        {
            JobId = this.GetPrimaryKeyLong(),
            MachineType = machineType,
            // An array, not a collection expression: `[..]` into an IReadOnlyList makes a compiler-generated type that the
            // grain-state serializer has no codec for; the organisation stores these labels in its pages, and looking a
            // codec up afresh for each of them on every page write was nearly half of its state serialization's CPU.
            Labels = Job.Labels.ToArray(),
            // Builtiful's own clock, not the payload's created_at (another machine's clock, and before any approval):
            // the organisation drops a job that stays in line longer than GitHub keeps one queued, counted from here.
            QueuedAt = Job.ApprovedAt ?? Job.RecordedAt ?? Job.QueuedAt ?? time.GetUtcNow(),
            Repository = Job.Repository,
            Visibility = Job.Visibility,
        });

        if (admission.Kind == AdmissionKind.Refused)
        {
            return Reject(admission.Code, admission.Reason ?? "the organisation refused the job");
        }

        Job.RunnerRequested = true;
        _vmStarted = admission.Kind == AdmissionKind.Started;
        LogAdmitted(logger, this.GetPrimaryKeyLong(), Job.InstallationId, admission.Kind, admission.LeaseId);
        return admission.Kind == AdmissionKind.Parked ? JobEventOutcome.Parked : JobEventOutcome.Applied;
    }

    private JobEventOutcome Reject(RejectionCode code, string reason)
    {
        Job.RejectionReason = reason;
        Job.RejectionCode = code;
        LogRejected(logger, this.GetPrimaryKeyLong(), code.ToWire(), reason);
        return JobEventOutcome.Rejected;
    }

    private async Task BindLeaseAsync(string? runnerName)
    {
        if (!RunnerNames.TryParseLease(runnerName, out var leaseId))
        {
            if (Job.InstallationId != 0 && Job.RunnerRequested)
            {
                // Our job ran on a runner that is not ours: it no longer needs the VM we launched for it.
                await GrainFactory.Reference<IOrganisationGrain>(Job.InstallationId).JobStarted(this.GetPrimaryKeyLong(), null);
            }

            return;
        }

        var outcome = await GrainFactory.Reference<IVmLeaseGrain>(leaseId).BindJob(this.GetPrimaryKeyLong());
        if (outcome is BindOutcome.Bound or BindOutcome.AlreadyBound or BindOutcome.RanAfterEnd)
        {
            Job.LeaseId = leaseId;
        }
        else
        {
            LogBindRefused(logger, this.GetPrimaryKeyLong(), leaseId, outcome);
        }

        if (Job.InstallationId != 0)
        {
            await GrainFactory.Reference<IOrganisationGrain>(Job.InstallationId).JobStarted(this.GetPrimaryKeyLong(), Job.LeaseId);
        }
    }

    private async Task FinishAsync()
    {
        if (Job.LeaseId is { } leaseId)
        {
            await GrainFactory.Reference<IVmLeaseGrain>(leaseId).JobCompleted(this.GetPrimaryKeyLong());
        }

        if (Job.InstallationId != 0 && Job.RunnerRequested)
        {
            await GrainFactory.Reference<IOrganisationGrain>(Job.InstallationId).JobFinished(this.GetPrimaryKeyLong());
        }
    }

    [LoggerMessage(Level = LogLevel.Debug, Message = "Job {JobId}: {Action} ignored, already {Status}")]
    private static partial void LogIgnored(ILogger logger, long jobId, JobStatus action, JobStatus status);

    [LoggerMessage(Level = LogLevel.Information, Message = "Job {JobId} waits for an environment's approval; no VM until it is queued")]
    private static partial void LogAwaitingApproval(ILogger logger, long jobId);

    [LoggerMessage(Level = LogLevel.Information, Message = "Job {JobId} of installation {InstallationId}: {Admission} (lease {LeaseId})")]
    private static partial void LogAdmitted(ILogger logger, long jobId, long installationId, AdmissionKind admission, Guid? leaseId);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Job {JobId} rejected ({Code}): {Reason}")]
    private static partial void LogRejected(ILogger logger, long jobId, string code, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Job {JobId}: its in_progress could not be stored as the activation went; the next delivery brings it again: {Error}")]
    private static partial void LogDeferredWriteFailed(ILogger logger, long jobId, string error);

    [LoggerMessage(Level = LogLevel.Information, Message = "Job {JobId}: metadata past its retention deleted")]
    private static partial void LogForgotten(ILogger logger, long jobId);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Job {JobId} started on lease {LeaseId}, which refused the binding: {Outcome}")]
    private static partial void LogBindRefused(ILogger logger, long jobId, Guid leaseId, BindOutcome outcome);
}

/// <summary>When the job grain writes a decided state (<see cref="JobGrain.Storing"/>).</summary>
internal enum JobWrite
{
    /// <summary>Written before the delivery is answered.</summary>
    Now = 0,

    /// <summary>Kept in memory; the next write, or the activation's end, stores it.</summary>
    Defer = 1,
}
