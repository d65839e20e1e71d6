using System.Globalization;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Builtiful.Silo.Tests;

/// <summary>Operator calls and timed deliveries against a running all-in-one, for the usage, list and action tests.</summary>
public static class OperatorRequests
{
    public static async Task<HttpResponseMessage> SendAsync(this BuiltifulInstance builtiful, HttpMethod method, string path, object? body = null,
        string? token = BuiltifulInstance.AdminToken, string? accept = null)
    {
        using var request = new HttpRequestMessage(method, path);
        if (token is not null)
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        }

        if (accept is not null)
        {
            request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue(accept));
        }

        if (body is not null)
        {
            request.Content = JsonContent.Create(body);
        }

        return await builtiful.Http.SendAsync(request);
    }

    public static async Task<JsonElement> JsonAsync(this BuiltifulInstance builtiful, string path)
    {
        using var response = await builtiful.AdminGetAsync(path);
        Assert.True(response.IsSuccessStatusCode, $"GET {path}: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
        return await response.Content.ReadFromJsonAsync<JsonElement>();
    }

    private static readonly System.Collections.Concurrent.ConcurrentDictionary<long, string> Repositories = new();

    /// <summary>Installs the App on a new organisation in the simulated GitHub, which tells Builtiful, with one private repository.</summary>
    public static async Task<long> InstallAsync(this BuiltifulInstance builtiful)
    {
        var (installationId, repository) = await builtiful.InstallOrganisationAsync();
        Repositories[installationId] = repository;
        await Eventually.Until(() => builtiful.AdminJsonAsync($"/api/v1/organisations/{installationId}"), o => o is not null, $"installation {installationId} has arrived");
        return installationId;
    }

    /// <summary>Queues a job in the simulated GitHub on the installation's repository; its runner reports back as GitHub does.</summary>
    public static Task<long> QueueInWorldAsync(this BuiltifulInstance builtiful, long installationId, string label) =>
        builtiful.World.QueueJobAsync(new Builtiful.Simulation.GitHub.JobSpec { Repository = Repositories[installationId], Labels = [label] });

    /// <summary>A real <c>workflow_job</c> delivery with the instants a test controls; null keeps the fixture's own.</summary>
    public static string TimedJob(string fixture, long jobId, long installationId, string label, string? runnerName = null,
        DateTimeOffset? createdAt = null, DateTimeOffset? startedAt = null, DateTimeOffset? completedAt = null)
    {
        // The job is in the installation's own repository, where GitHub lets Builtiful register its runner.
        var repository = Repositories.TryGetValue(installationId, out var known) ? known : null;
        var root = JsonNode.Parse(Payloads.WorkflowJob(fixture, jobId, installationId, label, runnerName, repository: repository))!.AsObject();
        var job = root["workflow_job"]!.AsObject();
        foreach (var (field, instant) in new[] { ("created_at", createdAt), ("started_at", startedAt), ("completed_at", completedAt) })
        {
            if (instant is { } value)
            {
                job[field] = value.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture);
            }
        }

        return root.ToJsonString();
    }

    /// <summary>Waits for a view to satisfy <paramref name="done"/>; a 404 is "not yet", as the world's deliveries arrive on their own.</summary>
    public static async Task<JsonElement> UntilAsync(this BuiltifulInstance builtiful, string path, Func<JsonElement, bool> done, string what) =>
        (await Eventually.Until(() => builtiful.AdminJsonAsync(path), view => view is { } found && done(found), what))!.Value;
}
