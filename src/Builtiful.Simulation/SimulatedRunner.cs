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
    SimulatedFaultLedger faults,
    SimulatedJobRuns runs,
    ILogger<SimulatedRunner> logger)
{
    public async Task RunAsync(RunnerConfig config, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(config);
        if (SimulatedRunnerConfigSource.TryDecode(config.EncodedJitConfig) is not { } issued)
        {
            LogNotSimulated(logger, config.RunnerName);
            return;
        }

        var github = grains.GetGrain<ISimulatedGitHubGrain>(issued.InstallationId);
        while (true)
        {
            RunnerAssignment assignment;
            try
            {
                assignment = await github.TakeJob(issued.RunnerName, issued.Credential);
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                // GitHub's side was briefly unreachable (a silo died under the call): the runner keeps asking.
                LogAskFailed(logger, issued.RunnerName, ex.Message);
                await Task.Delay(options.CurrentValue.RunnerPollInterval, time, cancellationToken);
                continue;
            }

            if (assignment.Kind == RunnerAssignmentKind.Deregistered)
            {
                LogDeregistered(logger, issued.RunnerName);
                return;
            }

            if (assignment is { Kind: RunnerAssignmentKind.Assigned, Job: { } job })
            {
                await RunJobAsync(github, issued, job, cancellationToken);
                return;
            }

            await Task.Delay(options.CurrentValue.RunnerPollInterval, time, cancellationToken);
        }
    }

    /// <summary>
    /// Runs one job. The deliveries are GitHub's, not the VM's: once GitHub has handed a runner the job it reports
    /// <c>in_progress</c> and, when the job ends or its runner disappears with the VM, <c>completed</c> (a job whose
    /// runner is lost fails; GitHub never hands it to another runner).
    /// </summary>
    private async Task RunJobAsync(ISimulatedGitHubGrain github, SimulatedJitConfig issued, Jobs.JobView job, CancellationToken vmAlive)
    {
        var startedAt = time.GetUtcNow();
        var plan = options.CurrentValue.Faults;
        var reordered = faults.Strike("github.reordered-delivery", plan.DeliveryReorderRate, plan.Seed);
        var run = runs.Started(job.Id, issued.InstallationId, issued.RunnerName, startedAt);
        LogRunning(logger, issued.RunnerName, job.Id);
        if (!reordered)
        {
            await webhooks.SendInProgressAsync(job, issued.RunnerName, startedAt, CancellationToken.None);
        }

        try
        {
            await Task.Delay(options.CurrentValue.JobRunTime, time, vmAlive);
            run.Ended(time.GetUtcNow(), options.CurrentValue.Conclusion);
        }
        catch (OperationCanceledException) when (vmAlive.IsCancellationRequested)
        {
            run.Ended(time.GetUtcNow(), "failure");
            LogRunnerFailed(logger, issued.RunnerName, job.Id, "the VM was terminated under the job");
        }

        await webhooks.SendCompletedAsync(job, issued.RunnerName, startedAt, run.EndedAt!.Value, run.Conclusion!, CancellationToken.None);
        if (reordered)
        {
            await webhooks.SendInProgressAsync(job, issued.RunnerName, startedAt, CancellationToken.None);
        }

        try
        {
            await github.RunnerFinished(issued.RunnerName, issued.Credential);
        }
        catch (Exception ex)
        {
            // GitHub's side lost the registration with a silo; nothing is left to drop.
            LogAskFailed(logger, issued.RunnerName, ex.Message);
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Simulated runner {RunnerName} could not ask for a job: {Error}")]
    private static partial void LogAskFailed(ILogger logger, string runnerName, string error);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Simulated runner {RunnerName} lost job {JobId}: {Error}")]
    private static partial void LogRunnerFailed(ILogger logger, string runnerName, long jobId, string error);

    [LoggerMessage(Level = LogLevel.Information, Message = "Simulated runner {RunnerName} took job {JobId}")]
    private static partial void LogRunning(ILogger logger, string runnerName, long jobId);

    [LoggerMessage(Level = LogLevel.Information, Message = "VM of runner {RunnerName} holds a real GitHub runner config; only GitHub can run it, so the simulated VM idles")]
    private static partial void LogNotSimulated(ILogger logger, string runnerName);

    [LoggerMessage(Level = LogLevel.Information, Message = "Simulated runner {RunnerName} was deregistered and exits")]
    private static partial void LogDeregistered(ILogger logger, string runnerName);
}
