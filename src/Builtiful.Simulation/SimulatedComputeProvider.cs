using System.Collections.Concurrent;
using Builtiful.Providers;
using Builtiful.Simulation.GitHub;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Builtiful.Simulation;

/// <summary>
/// VMs that exist in memory: they boot after a delay, claim their runner config from the gateway's claim endpoint over
/// real HTTP with an identity document the cloud signs (as EC2 user data does), connect their runner to the simulated
/// GitHub with the config the claim returned, run the one job GitHub hands it, honour the in-guest watchdog at
/// their expiry (unless switched off), and are gone the moment they are terminated. The cloud keeps its own record.
/// </summary>
public sealed partial class SimulatedComputeProvider(
    IOptionsMonitor<SimulationOptions> options,
    [FromKeyedServices(BuiltifulClock.Key)] TimeProvider time,
    IServiceProvider services,
    SimulatedFaultLedger faults,
    Cloud.SimulatedInstanceIdentity identity,
    Cloud.BootTimes bootTimes,
    ILogger<SimulatedComputeProvider> logger) : IComputeProvider, IDisposable
{
    public const string ProviderName = "Simulated";

    /// <summary>The simulated cloud's cluster tag unless <c>Simulation:ClusterName</c> says otherwise.</summary>
    public const string DefaultClusterName = "builtiful";

    private readonly ConcurrentDictionary<string, SimulatedVm> _vms = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, string> _byClientToken = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<Guid, bool> _leasesAsked = new();
    private readonly CancellationTokenSource _stopping = new();
    private readonly HttpClient _claims = new(new SocketsHttpHandler { MaxConnectionsPerServer = 64 }) { Timeout = TimeSpan.FromSeconds(30) };
    private int _disposed;
    private int _describeManyCalls;

    public string Name => ProviderName;

    public string ClusterName => options.CurrentValue.ClusterName;

    /// <summary>Every lease that ever asked for a VM, launched or not, for a chaos run's diagnosis.</summary>
    public IReadOnlyCollection<Guid> LeasesAsked => [.. _leasesAsked.Keys];

    /// <summary>Every VM ever launched, for tests and the dashboard of a demo.</summary>
    public IReadOnlyCollection<SimulatedVm> Vms => [.. _vms.Values];

    public Task<LaunchedInstance> LaunchAsync(LaunchRequest request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        if (request.MachineType.ImageFor(ProviderName) is null)
        {
            throw new InvalidOperationException($"Machine type {request.MachineType.Label} has no image for provider {ProviderName}.");
        }

        _leasesAsked.TryAdd(request.LeaseId, true);
        var faultPlan = options.CurrentValue.Faults;
        if (!_byClientToken.ContainsKey(request.ClientToken) && faults.Strike("cloud.capacity", faultPlan.LaunchCapacityErrorRate, faultPlan.Seed))
        {
            throw new SimulatedCloudException($"InsufficientInstanceCapacity for {request.MachineType.Label}");
        }

        var instanceId = _byClientToken.GetOrAdd(request.ClientToken, _ => "sim-" + Guid.NewGuid().ToString("N")[..17]);
        var vm = _vms.GetOrAdd(instanceId, id => new SimulatedVm(id, request.LeaseId, new Dictionary<string, string>(request.Tags), time.GetUtcNow()));
        if (vm.TryStart())
        {
            _ = RunAsync(vm, request.Claim, request.ExpiresAt);
            if (faults.Strike("cloud.lost-launch-response", faultPlan.LostLaunchResponseRate, faultPlan.Seed))
            {
                throw new SimulatedCloudException("RunInstances timed out after the instance was launched");
            }
        }

        return Task.FromResult(new LaunchedInstance(vm.InstanceId, vm.LaunchedAt));
    }

    public Task TerminateAsync(string instanceId, CancellationToken cancellationToken)
    {
        var faultPlan = options.CurrentValue.Faults;
        if (faults.Strike("cloud.terminate-5xx", faultPlan.TerminateErrorRate, faultPlan.Seed))
        {
            throw new SimulatedCloudException("TerminateInstances answered 500 InternalError");
        }

        if (_vms.TryGetValue(instanceId, out var vm))
        {
            vm.Terminate(time.GetUtcNow());
        }

        return Task.CompletedTask;
    }

    public Task<InstanceState> DescribeAsync(string instanceId, CancellationToken cancellationToken) =>
        Task.FromResult(_vms.TryGetValue(instanceId, out var vm) ? vm.State : InstanceState.NotFound);

    public Task<IReadOnlyDictionary<string, InstanceState>> DescribeManyAsync(IReadOnlyCollection<string> instanceIds, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(instanceIds);
        Interlocked.Increment(ref _describeManyCalls);
        IReadOnlyDictionary<string, InstanceState> states = instanceIds.Distinct(StringComparer.Ordinal)
            .ToDictionary(id => id, id => _vms.TryGetValue(id, out var vm) ? vm.State : InstanceState.NotFound, StringComparer.Ordinal);
        return Task.FromResult(states);
    }

    /// <summary>Batched describes answered so far: what a test counts to see one request per check instead of one per VM.</summary>
    public int DescribeManyCalls => Volatile.Read(ref _describeManyCalls);

    public Task<IReadOnlyList<InstanceSummary>> ListByTagAsync(string key, string value, CancellationToken cancellationToken)
    {
        IReadOnlyList<InstanceSummary> found =
        [
            .. _vms.Values.Where(vm => vm.Tags.TryGetValue(key, out var v) && v == value)
                .Select(vm => new InstanceSummary(vm.InstanceId, vm.State, vm.Tags)),
        ];
        return Task.FromResult(found);
    }

    // Registered under two service types, so the container disposes it twice.
    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 1)
        {
            return;
        }

        _stopping.Cancel();
        _stopping.Dispose();
        _claims.Dispose();
        foreach (var vm in _vms.Values)
        {
            vm.Dispose();
        }
    }

    private async Task RunAsync(SimulatedVm vm, ClaimTicket ticket, DateTimeOffset expiresAt)
    {
        using var life = CancellationTokenSource.CreateLinkedTokenSource(_stopping.Token, vm.Terminated);
        RunnerSession? session = null;
        try
        {
            using var watchdog = CancellationTokenSource.CreateLinkedTokenSource(life.Token);
            if (!Watch(vm, expiresAt, watchdog.Token))
            {
                return;
            }

            var boot = bootTimes.Next();
            await Task.Delay(boot.Launch, time, life.Token);
            if (faults.Strike("cloud.boot-failure", options.CurrentValue.Faults.BootFailureRate, options.CurrentValue.Faults.Seed))
            {
                return;
            }

            vm.MarkRunning();
            LogBooted(logger, vm.InstanceId, vm.LeaseId);

            if (!options.CurrentValue.ClaimAfterBoot)
            {
                return;
            }

            // The OS boots until cloud-init runs the user data, which claims.
            await Pause(boot.OsBoot, life.Token);

            // The user data's claim: a refusal or claims that keep failing power the VM off, as the script's exit trap does.
            var claim = new Cloud.SimulatedClaim(_claims, identity, options.CurrentValue, time);
            var end = await claim.ClaimAsync(vm, ticket, life.Token);
            LogClaimed(logger, vm.InstanceId, vm.LeaseId, end.Result, end.Detail);
            if (end.Result != Cloud.ClaimResult.Granted)
            {
                vm.Terminate(time.GetUtcNow());
                return;
            }

            if (ticket.Pool is not null && end.ExpiresAt is { } leaseDeadline)
            {
                // A pool VM adopts the deadline of the lease that took it, as the user data rewrites its watchdog.
                await watchdog.CancelAsync();
                vm.AdoptDeadline(leaseDeadline);
                if (!Watch(vm, leaseDeadline, life.Token))
                {
                    return;
                }
            }

            // The runner binary starts with the claimed config and connects; only the GitHub that minted it knows it.
            await Pause(boot.RunnerConnect, life.Token);
            var runnerName = end.RunnerName ?? Leases.RunnerNames.ForLease(vm.LeaseId);
            vm.Claimed(runnerName);
            session = services.GetService<SimulatedGitHub>()?.Connect(end.EncodedJitConfig!);
            if (session is null)
            {
                LogNotConnected(logger, vm.InstanceId, runnerName);
                return;
            }

            var job = await session.WaitForJobAsync(life.Token);
            if (job is null)
            {
                session = null;
                LogDeregistered(logger, runnerName);
                return;
            }

            LogRunning(logger, runnerName, job.JobId);
            await Task.Delay(job.RunTime, time, life.Token);
            var finished = session;
            session = null;

            // A just-in-time runner runs one job and exits; the VM idles until it is terminated.
            await finished.CompleteAsync(job.Conclusion);
        }
        catch (OperationCanceledException) when (life.IsCancellationRequested)
        {
            // Terminated (or the cloud itself went away): a real VM simply stops, and GitHub notices its runner is gone.
            if (session is not null)
            {
                await LoseAsync(session, vm);
            }
        }
        catch (Exception ex)
        {
            LogRunnerCrashed(logger, vm.InstanceId, ex);
        }
    }

    /// <summary>A boot stage; none at all when it is zero (the fixed default), so tests keep today's timing exactly.</summary>
    private Task Pause(TimeSpan stage, CancellationToken cancellationToken) =>
        stage > TimeSpan.Zero ? Task.Delay(stage, time, cancellationToken) : Task.CompletedTask;

    /// <summary>The in-guest watchdog: the VM powers itself off at its expiry whatever the control plane does. False: already past it.</summary>
    private bool Watch(SimulatedVm vm, DateTimeOffset expiresAt, CancellationToken cancellationToken)
    {
        if (!options.CurrentValue.InGuestWatchdog)
        {
            return true;
        }

        var left = expiresAt - time.GetUtcNow();
        if (left <= TimeSpan.Zero)
        {
            vm.Terminate(time.GetUtcNow());
            return false;
        }

        _ = Task.Delay(left, time, cancellationToken).ContinueWith(
            t => { if (t.IsCompletedSuccessfully) { vm.Terminate(time.GetUtcNow()); } }, TaskScheduler.Default);
        return true;
    }

    private async Task LoseAsync(RunnerSession session, SimulatedVm vm)
    {
        try
        {
            await session.LostAsync();
        }
        catch (Exception ex)
        {
            // The world may be shutting down with this process; nothing is left to tell.
            LogRunnerCrashed(logger, vm.InstanceId, ex);
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Simulated VM {InstanceId} for lease {LeaseId} is running")]
    private static partial void LogBooted(ILogger logger, string instanceId, Guid leaseId);

    [LoggerMessage(Level = LogLevel.Information, Message = "Simulated VM {InstanceId} for lease {LeaseId}: claim {Result} ({Detail})")]
    private static partial void LogClaimed(ILogger logger, string instanceId, Guid leaseId, Cloud.ClaimResult result, string detail);

    [LoggerMessage(Level = LogLevel.Error, Message = "Simulated runner on {InstanceId} crashed")]
    private static partial void LogRunnerCrashed(ILogger logger, string instanceId, Exception exception);

    [LoggerMessage(Level = LogLevel.Information, Message = "Simulated VM {InstanceId}: GitHub does not know runner {RunnerName}'s config, so the VM idles")]
    private static partial void LogNotConnected(ILogger logger, string instanceId, string runnerName);

    [LoggerMessage(Level = LogLevel.Information, Message = "Simulated runner {RunnerName} was deregistered while it waited; the VM idles")]
    private static partial void LogDeregistered(ILogger logger, string runnerName);

    [LoggerMessage(Level = LogLevel.Information, Message = "Simulated runner {RunnerName} took job {JobId}")]
    private static partial void LogRunning(ILogger logger, string runnerName, long jobId);
}

public sealed class SimulatedVm(string instanceId, Guid leaseId, IReadOnlyDictionary<string, string> tags, DateTimeOffset launchedAt) : IDisposable
{
    private readonly CancellationTokenSource _terminated = new();
    private int _state = (int)InstanceState.Pending;
    private int _started;

    public string InstanceId { get; } = instanceId;

    public Guid LeaseId { get; } = leaseId;

    public IReadOnlyDictionary<string, string> Tags { get; } = tags;

    public DateTimeOffset LaunchedAt { get; } = launchedAt;

    /// <summary>The lease's deadline, from the VM's tags; a pool VM's idle deadline until it adopts the deadline of the lease that took it.</summary>
    public DateTimeOffset? ExpiresAt { get; private set; } = tags.TryGetValue(InstanceTags.ExpiresAt, out var e) && DateTimeOffset.TryParse(e, System.Globalization.CultureInfo.InvariantCulture, System.Globalization.DateTimeStyles.RoundtripKind, out var at) ? at : null;

    /// <summary>The warm pool that launched it, if any.</summary>
    public string? Pool { get; } = tags.TryGetValue(InstanceTags.Pool, out var pool) ? pool : null;

    /// <summary>A pool VM whose claim a lease granted: the runner name it registered, which ties it to GitHub's record.</summary>
    public string? ClaimedRunnerName { get; private set; }

    internal void AdoptDeadline(DateTimeOffset expiresAt) => ExpiresAt = expiresAt;

    internal void Claimed(string? runnerName) => ClaimedRunnerName = runnerName;

    public DateTimeOffset? TerminatedAt { get; private set; }

    public InstanceState State => (InstanceState)Volatile.Read(ref _state);

    /// <summary>Cancelled when the VM is terminated.</summary>
    public CancellationToken Terminated => _terminated.Token;

    internal bool TryStart() => Interlocked.Exchange(ref _started, 1) == 0;

    internal void MarkRunning() => Interlocked.CompareExchange(ref _state, (int)InstanceState.Running, (int)InstanceState.Pending);

    internal void Terminate(DateTimeOffset at)
    {
        if (Interlocked.Exchange(ref _state, (int)InstanceState.Terminated) != (int)InstanceState.Terminated)
        {
            TerminatedAt = at;
            _terminated.Cancel();
        }
    }

    public void Dispose() => _terminated.Dispose();
}
