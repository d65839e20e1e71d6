using Builtiful.Jobs;
using Builtiful.Leases;
using Builtiful.Machines;
using Builtiful.Organisations;
using Octokit.Webhooks;
using Octokit.Webhooks.Events;
using Octokit.Webhooks.Events.Installation;
using Octokit.Webhooks.Events.InstallationRepositories;

namespace Builtiful.Gateway.Webhooks;

/// <summary>
/// Turns parsed deliveries into grain calls. One instance per request; <see cref="Outcome"/> is what it did.
/// Only the fields Builtiful promises to keep leave this class. <c>workflow_job</c> comes through
/// <see cref="ProcessWorkflowJobAsync"/>; installation events through Octokit's processor.
/// </summary>
public sealed class BuiltifulWebhookProcessor(IGrainFactory grains, WebhookMetrics metrics) : WebhookEventProcessor
{
    public DeliveryOutcome? Outcome { get; private set; }

    /// <summary>
    /// A <c>workflow_job</c> delivery, parsed by <see cref="WorkflowJobPayload"/> rather than Octokit's full model:
    /// it is nine in ten deliveries and the gateway's hot path.
    /// </summary>
    public async ValueTask ProcessWorkflowJobAsync(WorkflowJobPayload delivery, string? deliveryId)
    {
        ArgumentNullException.ThrowIfNull(delivery);
        if (delivery.WorkflowJob is not { } fields)
        {
            throw new MalformedDeliveryException("workflow_job delivery without a workflow_job object");
        }

        var labels = fields.Labels;
        if (!JobStatusNames.TryParse(delivery.Action, out var status))
        {
            Outcome = new DeliveryOutcome("workflow_job", delivery.Action, "ignored: action Builtiful does not act on");
            return;
        }

        // A runner of ours may take a job whose labels name no machine type of ours (runs-on: self-hosted): its lease must
        // still learn of the job, to bind it and be torn down after it.
        if (!MachineLabels.AnyOurs(labels) && !RunnerNames.TryParseLease(fields.RunnerName, out _))
        {
            Outcome = new DeliveryOutcome("workflow_job", delivery.Action, "ignored: no builtiful- label, not ours");
            return;
        }

        if (fields.Id is not { } id || id <= 0)
        {
            throw new MalformedDeliveryException("workflow_job.id is missing");
        }

        var job = grains.Reference<IJobGrain>(id);
        var result = await job.Apply(new Jobs.WorkflowJobEvent
        {
            JobId = id,
            Action = status,
            InstallationId = delivery.InstallationId,
            RunId = fields.RunId ?? 0,
            RunAttempt = fields.RunAttempt ?? 0,
            Repository = delivery.Repository?.FullName ?? "",
            Branch = fields.HeadBranch,
            HeadSha = fields.HeadSha ?? "",
            WorkflowName = fields.WorkflowName,
            JobName = fields.Name,
            Labels = labels,
            RunnerName = fields.RunnerName,
            Conclusion = fields.Conclusion,
            CreatedAt = fields.CreatedAt == default(DateTimeOffset) ? null : fields.CreatedAt,
            StartedAt = fields.StartedAt,
            CompletedAt = fields.CompletedAt,
            DeliveryId = deliveryId,
            Visibility = delivery.Visibility,
        });
        if (result == JobEventOutcome.Rejected)
        {
            // Strangers get nothing but a count: the job says why it launched nothing.
            metrics.Refused(WebhookMetrics.Classify(await job.GetView()));
        }

        Outcome = new DeliveryOutcome("workflow_job", delivery.Action, result switch
        {
            JobEventOutcome.Applied => "applied",
            JobEventOutcome.Ignored => "ignored",
            JobEventOutcome.Rejected => "rejected",
            JobEventOutcome.Parked => "applied: parked until the installation is created",
            _ => result.ToString().ToLowerInvariant(),
        });
    }

    protected override async ValueTask ProcessInstallationWebhookAsync(
        WebhookHeaders headers, InstallationEvent installationEvent, Octokit.Webhooks.Events.Installation.InstallationAction action, CancellationToken cancellationToken = default)
    {
        var installation = installationEvent.Installation ?? throw new MalformedDeliveryException("installation delivery without an installation object");
        Organisations.InstallationAction? change = installationEvent.Action switch
        {
            "created" => Organisations.InstallationAction.Created,
            "deleted" => Organisations.InstallationAction.Deleted,
            "suspend" => Organisations.InstallationAction.Suspended,
            "unsuspend" => Organisations.InstallationAction.Unsuspended,
            "new_permissions_accepted" => Organisations.InstallationAction.Updated,
            _ => null,
        };

        if (change is not { } kind)
        {
            Outcome = new DeliveryOutcome("installation", installationEvent.Action, "ignored: action Builtiful does not act on");
            return;
        }

        await grains.Reference<IOrganisationGrain>(installation.Id).ApplyInstallation(new InstallationChange
        {
            Action = kind,
            AccountLogin = installation.Account?.Login,
            AccountType = installation.Account?.Type?.StringValue,
            SenderLogin = installationEvent.Sender?.Login,
            Email = installationEvent.Sender?.Email,
            RepositoryCount = installationEvent.Repositories?.Count,
            RepositorySelection = installation.RepositorySelection?.StringValue,
        });
        Outcome = new DeliveryOutcome("installation", installationEvent.Action, "applied");
    }

    protected override async ValueTask ProcessInstallationRepositoriesWebhookAsync(
        WebhookHeaders headers, InstallationRepositoriesEvent installationRepositoriesEvent, InstallationRepositoriesAction action, CancellationToken cancellationToken = default)
    {
        var installation = installationRepositoriesEvent.Installation
            ?? throw new MalformedDeliveryException("installation_repositories delivery without an installation object");
        await grains.Reference<IOrganisationGrain>(installation.Id).ApplyRepositories(new RepositoriesChange
        {
            Added = installationRepositoriesEvent.RepositoriesAdded?.Count ?? 0,
            Removed = installationRepositoriesEvent.RepositoriesRemoved?.Count ?? 0,
            RepositorySelection = installationRepositoriesEvent.RepositorySelection?.StringValue,
        });
        Outcome = new DeliveryOutcome("installation_repositories", installationRepositoriesEvent.Action, "applied");
    }
}
