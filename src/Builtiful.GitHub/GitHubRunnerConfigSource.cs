using System.Globalization;
using System.Net;
using System.Text.Json;
using Builtiful.Providers;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Builtiful.GitHub;

/// <summary>
/// Just-in-time runners and runner registrations through GitHub's REST API. The JIT config goes back to the
/// caller and nowhere else: it is never logged, never stored, and never part of an exception message.
/// </summary>
public sealed partial class GitHubRunnerConfigSource(
    GitHubApi api,
    IOptions<GitHubAppOptions> options,
    ILogger<GitHubRunnerConfigSource> logger) : IRunnerConfigSource
{
    /// <summary>Runner names Builtiful makes; only these are ever deleted to free a name.</summary>
    public const string OurRunnerPrefix = "builtiful-";

    private const int PageSize = 100;

    private const int MaxRunnerPages = 100;

    /// <summary>A repository's runners belong to its one default group; organisation runner groups do not apply there.</summary>
    private const long RepositoryRunnerGroup = 1;

    public async Task<RunnerConfig> CreateAsync(RunnerRegistration registration, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(registration);
        var scope = RunnerScope.For(registration);
        var labels = registration.Labels.Where(l => !string.IsNullOrWhiteSpace(l)).Distinct(StringComparer.OrdinalIgnoreCase).ToList();
        if (labels.Count == 0)
        {
            throw new ArgumentException($"Runner {registration.RunnerName} has no labels; GitHub needs at least one.", nameof(registration));
        }

        var call = new GitHubCall(HttpMethod.Post, $"{scope.RunnersPath}/generate-jitconfig", "generate-jitconfig")
        {
            InstallationId = registration.InstallationId,
            JsonBody = JsonSerializer.Serialize(
                new JitConfigRequest(registration.RunnerName, GroupIn(scope, registration), labels, options.Value.WorkFolder),
                GitHubJson.Default.JitConfigRequest),
        };

        var response = await api.SendAsync(call, cancellationToken);
        if (response.Status == HttpStatusCode.Conflict)
        {
            await FreeRunnerNameAsync(registration, scope, call, cancellationToken);
            response = await api.SendAsync(call, cancellationToken);
            if (response.Status == HttpStatusCode.Conflict)
            {
                throw new GitHubRequestRefusedException(call.Endpoint, response.Status, response.ErrorMessage(),
                    $"Runner name {registration.RunnerName} is still taken in {scope} after its earlier registration was deleted.", isPermanent: false);
            }
        }

        if (!response.IsSuccess)
        {
            throw GitHubApi.Failure(call, response, Explain(response.Status, scope, registration));
        }

        var jit = response.Read(GitHubJson.Default.JitConfigResponse, call);
        if (string.IsNullOrEmpty(jit.EncodedJitConfig))
        {
            throw new GitHubApiException($"GitHub answered {call.Endpoint} without encoded_jit_config.", call.Endpoint, response.Status, isPermanent: false);
        }

        LogCreated(logger, registration.RunnerName, registration.InstallationId, scope.Description);
        return new RunnerConfig(registration.RunnerName, jit.EncodedJitConfig);
    }

    public async Task<RunnerRemoval> RemoveAsync(RunnerRegistration registration, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(registration);
        var scope = RunnerScope.For(registration);
        var runner = await FindRunnerAsync(registration.InstallationId, scope, registration.RunnerName, cancellationToken);
        if (runner is null)
        {
            return RunnerRemoval.NotFound;
        }

        if (runner.Busy)
        {
            return RunnerRemoval.Busy;
        }

        return await DeleteRunnerAsync(registration.InstallationId, scope, runner.Id, cancellationToken);
    }

    /// <summary>Every runner registered in the scope, all pages, for reconciliation.</summary>
    public Task<IReadOnlyList<GitHubRunner>> ListRunnersAsync(long installationId, RunnerScope scope, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(scope);
        var call = new GitHubCall(HttpMethod.Get, $"{scope.RunnersPath}?per_page={PageSize}", "list-runners") { InstallationId = installationId };
        return ListAsync(call, scope, cancellationToken);
    }

    /// <summary>The runner with exactly this name, or null.</summary>
    public async Task<GitHubRunner?> FindRunnerAsync(long installationId, RunnerScope scope, string runnerName, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(scope);
        var call = new GitHubCall(HttpMethod.Get, $"{scope.RunnersPath}?name={Uri.EscapeDataString(runnerName)}&per_page={PageSize}", "find-runner")
        {
            InstallationId = installationId,
        };
        var runners = await ListAsync(call, scope, cancellationToken);
        return runners.FirstOrDefault(r => string.Equals(r.Name, runnerName, StringComparison.Ordinal));
    }

    /// <summary>Deletes a registration; a runner in the middle of a job is left alone and reported <see cref="RunnerRemoval.Busy"/>.</summary>
    public async Task<RunnerRemoval> DeleteRunnerAsync(long installationId, RunnerScope scope, long runnerId, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(scope);
        var call = new GitHubCall(HttpMethod.Delete, $"{scope.RunnersPath}/{runnerId.ToString(CultureInfo.InvariantCulture)}", "delete-runner")
        {
            InstallationId = installationId,
        };
        var response = await api.SendAsync(call, cancellationToken);
        if (response.IsSuccess)
        {
            LogDeleted(logger, runnerId, installationId, scope.Description);
            return RunnerRemoval.Removed;
        }

        return response.Status switch
        {
            HttpStatusCode.NotFound => RunnerRemoval.NotFound,

            // GitHub refuses to delete a runner that is running a job ("... is still running a job").
            HttpStatusCode.UnprocessableEntity when SaysBusy(response.ErrorMessage()) => RunnerRemoval.Busy,
            _ => throw GitHubApi.Failure(call, response, Explain(response.Status, scope, null)),
        };
    }

    private async Task FreeRunnerNameAsync(RunnerRegistration registration, RunnerScope scope, GitHubCall call, CancellationToken cancellationToken)
    {
        if (!registration.RunnerName.StartsWith(OurRunnerPrefix, StringComparison.Ordinal))
        {
            throw new GitHubRequestRefusedException(call.Endpoint, HttpStatusCode.Conflict, null,
                $"A runner named {registration.RunnerName} already exists in {scope}; it is not one of Builtiful's, so it is left alone.", isPermanent: true);
        }

        var existing = await FindRunnerAsync(registration.InstallationId, scope, registration.RunnerName, cancellationToken);
        if (existing is null)
        {
            return;
        }

        var removal = existing.Busy
            ? RunnerRemoval.Busy
            : await DeleteRunnerAsync(registration.InstallationId, scope, existing.Id, cancellationToken);
        if (removal == RunnerRemoval.Busy)
        {
            // An earlier attempt of this lease made the runner and it has taken a job: its VM is working.
            throw new GitHubRequestRefusedException(call.Endpoint, HttpStatusCode.Conflict, null,
                $"Runner {registration.RunnerName} is already registered in {scope} and running a job; it is not replaced.", isPermanent: false);
        }

        LogReplaced(logger, registration.RunnerName, registration.InstallationId, scope.Description);
    }

    private async Task<IReadOnlyList<GitHubRunner>> ListAsync(GitHubCall call, RunnerScope scope, CancellationToken cancellationToken) =>
        await api.ListAsync(
            call,
            GitHubJson.Default.RunnerList,
            page => page.Runners.Select(r => new GitHubRunner(r.Id, r.Name, r.Status, r.Busy, [.. r.Labels.Select(l => l.Name)])),
            enough: null,
            MaxRunnerPages,
            (failed, response) => GitHubApi.Failure(failed, response, Explain(response.Status, scope, null)),
            cancellationToken);

    private static long GroupIn(RunnerScope scope, RunnerRegistration registration) =>
        scope.IsOrganisation ? registration.RunnerGroupId : RepositoryRunnerGroup;

    private static bool SaysBusy(string? message) =>
        message is not null && (message.Contains("job", StringComparison.OrdinalIgnoreCase) || message.Contains("busy", StringComparison.OrdinalIgnoreCase));

    /// <summary>The likely cause of a refusal, in the operator's terms.</summary>
    private static string? Explain(HttpStatusCode status, RunnerScope scope, RunnerRegistration? registration) => status switch
    {
        HttpStatusCode.Forbidden when scope.IsOrganisation =>
            $"The App may lack the organisation permission \"Self-hosted runners: read and write\" on {scope}, or the installation is suspended.",
        HttpStatusCode.Forbidden =>
            $"The App may lack the repository permission \"Administration: read and write\" on {scope}, or the installation is suspended.",
        HttpStatusCode.NotFound =>
            $"GitHub does not show {scope} to this installation: the App is not installed there (or no longer), or lacks the permission to manage its runners.",
        HttpStatusCode.UnprocessableEntity when registration is not null =>
            $"GitHub rejected the runner's settings (runner group {GroupIn(scope, registration)}, labels {string.Join(", ", registration.Labels)}): the group may not exist or not be open to {scope}.",
        HttpStatusCode.UnprocessableEntity => "GitHub rejected the request's content.",
        HttpStatusCode.Unauthorized => "GitHub did not accept the installation token twice in a row.",
        _ => null,
    };

    [LoggerMessage(Level = LogLevel.Information, Message = "Runner {RunnerName}: just-in-time config issued for installation {InstallationId} ({Scope})")]
    private static partial void LogCreated(ILogger logger, string runnerName, long installationId, string scope);

    [LoggerMessage(Level = LogLevel.Information, Message = "Runner {RunnerName}: name was taken by an idle earlier registration in installation {InstallationId} ({Scope}); deleted it")]
    private static partial void LogReplaced(ILogger logger, string runnerName, long installationId, string scope);

    [LoggerMessage(Level = LogLevel.Information, Message = "Runner registration {RunnerId} deleted in installation {InstallationId} ({Scope})")]
    private static partial void LogDeleted(ILogger logger, long runnerId, long installationId, string scope);
}
