using System.Globalization;
using System.Text;
using System.Text.Json.Nodes;

namespace Builtiful.Simulation.GitHub;

/// <summary>
/// Builds deliveries from real GitHub payloads (octokit/webhooks examples), changing only the fields the world knows,
/// so every other field stays as GitHub sends it.
/// </summary>
internal static class WebhookPayloads
{
    private static readonly Dictionary<string, string> Templates = new(StringComparer.Ordinal)
    {
        ["waiting"] = Read("workflow_job.waiting.json"),
        ["queued"] = Read("workflow_job.queued.json"),
        ["in_progress"] = Read("workflow_job.in_progress.json"),
        ["completed"] = Read("workflow_job.completed.json"),
    };

    private static readonly string InstallationCreated = Read("installation.created.json");

    /// <summary>GitHub's timestamps: UTC, whole seconds.</summary>
    public static string Timestamp(DateTimeOffset at) => at.UtcDateTime.ToString("yyyy-MM-ddTHH:mm:ssZ", CultureInfo.InvariantCulture);

    public static byte[] WorkflowJob(string action, WorldJob job, WorldRunnerGroup? group)
    {
        var root = JsonNode.Parse(Templates[action])!.AsObject();
        root["action"] = action;
        var wj = root["workflow_job"]!.AsObject();
        wj["id"] = job.Id;
        wj["run_id"] = job.RunId;
        wj["run_attempt"] = 1;
        wj["status"] = action;
        wj["conclusion"] = job.Status == SimulatedJobStatus.Completed && action == "completed" ? job.Conclusion : null;
        wj["labels"] = new JsonArray([.. job.Labels.Select(l => JsonValue.Create(l))]);
        var repository = job.Repository;
        wj["url"] = $"https://api.github.com/repos/{repository.FullName}/actions/jobs/{job.Id}";
        wj["html_url"] = $"https://github.com/{repository.FullName}/actions/runs/{job.RunId}/job/{job.Id}";
        wj["run_url"] = $"https://api.github.com/repos/{repository.FullName}/actions/runs/{job.RunId}";
        wj["created_at"] = Timestamp(job.CreatedAt);

        // GitHub sends started_at even before a runner has it: the creation time until the job really starts.
        wj["started_at"] = Timestamp(action is "in_progress" or "completed" && job.StartedAt is { } started ? started : job.CreatedAt);
        wj["completed_at"] = action == "completed" && job.CompletedAt is { } completed ? Timestamp(completed) : null;
        var runner = action is "in_progress" or "completed" ? job.Runner : null;
        wj["runner_id"] = runner?.Id;
        wj["runner_name"] = runner?.Name;
        wj["runner_group_id"] = runner is null ? null : group?.Id ?? 1;
        wj["runner_group_name"] = runner is null ? null : group?.Name ?? "Default";
        SetRepository(root, repository);
        SetInstallation(root, repository.InstallationId);
        return Encoding.UTF8.GetBytes(root.ToJsonString());
    }

    public static byte[] Installation(long installationId, string login, AccountKind kind, long appId, IEnumerable<WorldRepository> repositories)
    {
        var root = JsonNode.Parse(InstallationCreated)!.AsObject();
        root["action"] = "created";
        var installation = root["installation"]!.AsObject();
        installation["id"] = installationId;
        installation["app_id"] = appId;
        installation["target_type"] = kind == AccountKind.Organization ? "Organization" : "User";
        installation["repository_selection"] = "all";
        installation["access_tokens_url"] = $"https://api.github.com/app/installations/{installationId}/access_tokens";
        installation["html_url"] = kind == AccountKind.Organization
            ? $"https://github.com/organizations/{login}/settings/installations/{installationId}"
            : $"https://github.com/settings/installations/{installationId}";
        var account = installation["account"]!.AsObject();
        account["login"] = login;
        account["type"] = kind == AccountKind.Organization ? "Organization" : "User";
        account["url"] = $"https://api.github.com/users/{login}";
        account["html_url"] = $"https://github.com/{login}";
        root["repositories"] = new JsonArray([.. repositories.Select(r => (JsonNode)new JsonObject
        {
            ["id"] = r.Id,
            ["name"] = r.Name,
            ["full_name"] = r.FullName,
            ["private"] = !r.IsPublic,
        })]);
        return Encoding.UTF8.GetBytes(root.ToJsonString());
    }

    private static void SetRepository(JsonObject root, WorldRepository repository)
    {
        if (root["repository"] is not JsonObject node)
        {
            root["repository"] = node = [];
        }

        node["id"] = repository.Id;
        node["name"] = repository.Name;
        node["full_name"] = repository.FullName;
        node["private"] = !repository.IsPublic;
        node["visibility"] = repository.IsPublic ? "public" : "private";
        node["html_url"] = $"https://github.com/{repository.FullName}";
        node["url"] = $"https://api.github.com/repos/{repository.FullName}";
        if (node["owner"] is JsonObject owner)
        {
            owner["login"] = repository.Owner;
        }
    }

    private static void SetInstallation(JsonObject root, long installationId)
    {
        if (root["installation"] is JsonObject installation)
        {
            installation["id"] = installationId;
        }
        else
        {
            root["installation"] = new JsonObject { ["id"] = installationId, ["node_id"] = "" };
        }
    }

    private static string Read(string name)
    {
        using var stream = typeof(WebhookPayloads).Assembly.GetManifestResourceStream($"Builtiful.Simulation.Payloads.{name}")
            ?? throw new InvalidOperationException($"Embedded payload {name} is missing.");
        using var reader = new StreamReader(stream);
        return reader.ReadToEnd();
    }
}
