using Builtiful.Jobs;
using Builtiful.Machines;
using Builtiful.Organisations;
using Octokit.Webhooks;
using Octokit.Webhooks.Events;
using Octokit.Webhooks.Events.Installation;
using Octokit.Webhooks.Events.InstallationRepositories;
using Octokit.Webhooks.Events.WorkflowJob;
using WorkflowJobDelivery = Octokit.Webhooks.Events.WorkflowJobEvent;

namespace Builtiful.Gateway.Webhooks;

/// <summary>
/// Turns parsed deliveries into grain calls. One instance per request; <see cref="Outcome"/> is what it did.
/// Only the fields Builtiful promises to keep leave this class.
/// </summary>
public sealed class BuiltifulWebhookProcessor(IGrainFactory grains, WebhookMetrics metrics) : WebhookEventProcessor
{
    public DeliveryOutcome? Outcome { get; private set; }

    protected override async ValueTask ProcessWorkflowJobWebhookAsync(
        WebhookHeaders headers, WorkflowJobDelivery workflowJobEvent, WorkflowJobAction action, CancellationToken cancellationToken = default)
    {
        var job = workflowJobEvent.WorkflowJob ?? throw new MalformedDeliveryException("workflow_job delivery without a workflow_job object");
        var labels = job.Labels ?? [];
        if (!JobStatusNames.TryParse(workflowJobEvent.Action, out var status))
        {
            Outcome = new DeliveryOutcome("workflow_job", workflowJobEvent.Action, "ignored: action Builtiful does not act on");
            return;
        }

        if (!MachineLabels.AnyOurs(labels))
        {
            Outcome = new DeliveryOutcome("workflow_job", workflowJobEvent.Action, "ignored: no builtiful- label, not ours");
            return;
        }

        if (job.Id <= 0)
        {
            throw new MalformedDeliveryException("workflow_job.id is missing");
        }

        var result = await grains.GetGrain<IJobGrain>(job.Id).Apply(new Jobs.WorkflowJobEvent
        {
            JobId = job.Id,
            Action = status,
            InstallationId = workflowJobEvent.Installation?.Id ?? 0,
            RunId = job.RunId,
            RunAttempt = job.RunAttempt,
            Repository = workflowJobEvent.Repository?.FullName ?? "",
            Branch = job.HeadBranch,
            HeadSha = job.HeadSha ?? "",
            WorkflowName = job.WorkflowName,
            JobName = job.Name,
            Labels = [.. labels],
            RunnerName = job.RunnerName,
            Conclusion = job.Conclusion?.StringValue,
            CreatedAt = job.CreatedAt == default ? null : job.CreatedAt,
            StartedAt = job.StartedAt,
            CompletedAt = job.CompletedAt,
            DeliveryId = headers.Delivery,
            Visibility = workflowJobEvent.Repository is { } repository
                ? RepositoryVisibilities.From(repository.Visibility?.StringValue, repository.Private)
                : RepositoryVisibility.Unknown,
        });
        if (result == JobEventOutcome.Rejected)
        {
            // Strangers get nothing but a count: the job says why it launched nothing.
            metrics.Refused(WebhookMetrics.Classify(await grains.GetGrain<IJobGrain>(job.Id).GetView()));
        }

        Outcome = new DeliveryOutcome("workflow_job", workflowJobEvent.Action, result.ToString().ToLowerInvariant());
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

        await grains.GetGrain<IOrganisationGrain>(installation.Id).ApplyInstallation(new InstallationChange
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
        await grains.GetGrain<IOrganisationGrain>(installation.Id).ApplyRepositories(new RepositoriesChange
        {
            Added = installationRepositoriesEvent.RepositoriesAdded?.Count ?? 0,
            Removed = installationRepositoriesEvent.RepositoriesRemoved?.Count ?? 0,
            RepositorySelection = installationRepositoriesEvent.RepositorySelection?.StringValue,
        });
        Outcome = new DeliveryOutcome("installation_repositories", installationRepositoriesEvent.Action, "applied");
    }
}
