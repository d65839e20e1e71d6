using Builtiful.Providers;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Builtiful.Simulation;

/// <summary>
/// What GitHub and the runner binary do together on a real VM: take the oldest matching queued job, report
/// <c>in_progress</c>, run for a while, report <c>completed</c>, and exit (a just-in-time runner runs one job).
/// </summary>
public sealed partial class SimulatedRunner(
    IGrainFactory grains,
    SimulatedWebhookSender webhooks,
    IOptionsMonitor<SimulationOptions> options,
    [FromKeyedServices(BuiltifulClock.Key)] TimeProvider time,
    ILogger<SimulatedRunner> logger)
{
    public async Task RunAsync(RunnerConfig config, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(config);
        if (SimulatedRunnerConfigSource.TryDecode(config.EncodedJitConfig) is not { } jit)
        {
            LogNotSimulated(logger, config.RunnerName);
            return;
        }

        var github = grains.GetGrain<ISimulatedGitHubGrain>(jit.InstallationId);
        while (true)
        {
            var assignment = await github.TakeJob(jit.RunnerName);
            if (assignment.Kind == RunnerAssignmentKind.Deregistered)
            {
                LogDeregistered(logger, jit.RunnerName);
                return;
            }

            if (assignment is { Kind: RunnerAssignmentKind.Assigned, Job: { } job })
            {
                var startedAt = time.GetUtcNow();
                LogRunning(logger, jit.RunnerName, job.Id);
                await webhooks.SendInProgressAsync(job, jit.RunnerName, startedAt, cancellationToken);
                await Task.Delay(options.CurrentValue.JobRunTime, time, cancellationToken);
                await webhooks.SendCompletedAsync(job, jit.RunnerName, startedAt, options.CurrentValue.Conclusion, cancellationToken);
                return;
            }

            await Task.Delay(options.CurrentValue.RunnerPollInterval, time, cancellationToken);
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Simulated runner {RunnerName} took job {JobId}")]
    private static partial void LogRunning(ILogger logger, string runnerName, long jobId);

    [LoggerMessage(Level = LogLevel.Information, Message = "VM of runner {RunnerName} holds a real GitHub runner config; only GitHub can run it, so the simulated VM idles")]
    private static partial void LogNotSimulated(ILogger logger, string runnerName);

    [LoggerMessage(Level = LogLevel.Information, Message = "Simulated runner {RunnerName} was deregistered and exits")]
    private static partial void LogDeregistered(ILogger logger, string runnerName);
}
