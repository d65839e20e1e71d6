using System.Text.RegularExpressions;
using Amazon.EC2.Model;
using Builtiful.Compute.Ec2.Api;
using Builtiful.Compute.Ec2.Launching;
using Builtiful.Compute.Ec2.Options;
using Builtiful.Providers;
using InstanceState = Builtiful.Providers.InstanceState;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Builtiful.Compute.Ec2;

/// <summary>
/// Runner VMs on EC2. Launches are idempotent per client token and fall back across zones, instance types and
/// purchase options; terminations and state reads of concurrent leases share EC2 requests; every call draws on
/// the silo's per-account-and-region buckets, and every RunInstances first on the cluster's launch budget (<see cref="ILaunchBudget"/>).
/// </summary>
public sealed partial class Ec2ComputeProvider : IComputeProvider, IDisposable
{
    public const string ProviderName = "Ec2";

    /// <summary>EC2 accepts up to 1000 ids per TerminateInstances and recommends smaller batches.</summary>
    private const int TerminateBatch = 100;

    /// <summary>EC2 accepts up to 200 values in one DescribeInstances filter.</summary>
    private const int DescribeBatch = 200;

    private readonly Ec2Targets _targets;
    private readonly Ec2Options _options;
    private readonly InstanceDirectory _directory;
    private readonly Ec2Launcher _launcher;
    private readonly TimeProvider _time;
    private readonly ILogger<Ec2ComputeProvider> _logger;
    private readonly Batching<TerminationAnswer>[] _terminations;
    private readonly Batching<InstanceState>[] _descriptions;
    private int _disposeCount;

    public Ec2ComputeProvider(
        Ec2Targets targets,
        IOptions<Ec2Options> options,
        ILaunchBudget budget,
        [FromKeyedServices(BuiltifulClock.Key)] TimeProvider time,
        ILogger<Ec2ComputeProvider> logger)
    {
        ArgumentNullException.ThrowIfNull(targets);
        ArgumentNullException.ThrowIfNull(options);
        _targets = targets;
        _options = options.Value;
        _time = time;
        _logger = logger;
        _directory = new InstanceDirectory(time, _options.VisibilityGrace);
        _launcher = new Ec2Launcher(targets.All, _options, new CapacityShortages(time, _options.CapacityShortageMemory), budget, time, logger);
        var batchTimeout = _options.RequestTimeout * 4;
        _terminations = [.. targets.All.Select(t => new Batching<TerminationAnswer>((ids, ct) => TerminateBatchAsync(t, ids, ct), TerminateBatch, batchTimeout, time))];
        _descriptions = [.. targets.All.Select(t => new Batching<InstanceState>((ids, ct) => DescribeBatchAsync(t, ids, ct), DescribeBatch, batchTimeout, time))];
    }

    public string Name => ProviderName;

    public string ClusterName => _options.ClusterName;

    public async Task<LaunchedInstance> LaunchAsync(LaunchRequest request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        var (instance, target) = await _launcher.LaunchAsync(request, cancellationToken);
        _directory.Launched(instance.InstanceId, target);
        return new LaunchedInstance(instance.InstanceId, _time.GetUtcNow());
    }

    public async Task TerminateAsync(string instanceId, CancellationToken cancellationToken)
    {
        if (!IsInstanceId(instanceId))
        {
            // No instance can carry a malformed id: there is nothing to terminate.
            return;
        }

        var target = await LocateAsync(instanceId, cancellationToken);
        var answer = target is null
            ? TerminationAnswer.NotFound
            : await _terminations[target.Index].RunAsync(instanceId, cancellationToken);
        switch (answer.Outcome)
        {
            case TerminationOutcome.Ending:
                LogTerminating(_logger, instanceId, target!.Name);
                return;
            case TerminationOutcome.NotFound when _directory.MayBeInvisible(instanceId):
                throw new Ec2TerminationException($"{instanceId} was launched moments ago and EC2 does not show it yet (eventual consistency); terminate it again shortly");
            case TerminationOutcome.NotFound:
                _directory.Forget(instanceId);
                return;
            case TerminationOutcome.Failed:
                throw new Ec2TerminationException($"TerminateInstances refused {instanceId} in {target!.Name}: {answer.Error}");
            default:
                var state = await DescribeAsync(instanceId, cancellationToken);
                if (state is InstanceState.ShuttingDown or InstanceState.Terminated or InstanceState.NotFound)
                {
                    return;
                }

                throw new Ec2TerminationException($"TerminateInstances accepted {instanceId} but it still reads as {state}");
        }
    }

    public async Task<InstanceState> DescribeAsync(string instanceId, CancellationToken cancellationToken)
    {
        if (!IsInstanceId(instanceId))
        {
            return InstanceState.NotFound;
        }

        var target = _directory.TargetOf(instanceId);
        var state = target is not null
            ? await _descriptions[target.Index].RunAsync(instanceId, cancellationToken)
            : await ProbeAsync(instanceId, cancellationToken) switch
            {
                (var found, var foundState) when found is not null => Remember(found, foundState),
                _ => InstanceState.NotFound,
            };

        if (state == InstanceState.NotFound && _directory.MayBeInvisible(instanceId))
        {
            // Launched moments ago: EC2's read side may not have caught up. Not found proves nothing yet.
            return InstanceState.Pending;
        }

        if (state is InstanceState.Terminated or InstanceState.NotFound)
        {
            // The directory holds live instances only, so it stays as small as the fleet.
            _directory.Forget(instanceId);
        }

        return state;

        InstanceState Remember(Ec2Target found, InstanceState foundState)
        {
            _directory.Seen(instanceId, found);
            return foundState;
        }
    }

    /// <summary>
    /// Ids whose target is known go to that target in DescribeInstances requests of up to 200; the rest are asked of every
    /// target the same way. The same eventual-consistency grace as <see cref="DescribeAsync"/> applies to each id.
    /// </summary>
    public async Task<IReadOnlyDictionary<string, InstanceState>> DescribeManyAsync(IReadOnlyCollection<string> instanceIds, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(instanceIds);
        var states = new Dictionary<string, InstanceState>(StringComparer.Ordinal);
        var valid = new List<string>();
        foreach (var id in instanceIds.Distinct(StringComparer.Ordinal))
        {
            if (IsInstanceId(id))
            {
                valid.Add(id);
            }
            else
            {
                // No instance can carry a malformed id.
                states[id] = InstanceState.NotFound;
            }
        }

        // An id whose target is not known is asked of every target, in the same requests as that target's known ids.
        var targetOf = valid.ToDictionary(id => id, id => _directory.TargetOf(id), StringComparer.Ordinal);
        var unknown = valid.Where(id => targetOf[id] is null).ToList();
        var asks = _targets.All
            .Select(t => (Target: t, Ids: valid.Where(id => targetOf[id] == t).Concat(unknown).ToList()))
            .SelectMany(a => a.Ids.Chunk(DescribeBatch).Select(chunk => (a.Target, Ids: (IReadOnlyList<string>)chunk)));
        var answers = await Task.WhenAll(asks.Select(async a => (a.Target, States: await DescribeBatchAsync(a.Target, a.Ids, cancellationToken))));
        foreach (var (target, answer) in answers)
        {
            foreach (var (id, state) in answer)
            {
                if (state != InstanceState.NotFound)
                {
                    // Asked of every target, an unknown id is found in at most one: that one is where it lives.
                    states[id] = state;
                    if (state != InstanceState.Terminated)
                    {
                        _directory.Seen(id, target);
                    }
                }
            }
        }

        foreach (var id in valid)
        {
            if (states.TryAdd(id, InstanceState.NotFound) && _directory.MayBeInvisible(id))
            {
                // Launched moments ago: EC2's read side may not have caught up. Not found proves nothing yet.
                states[id] = InstanceState.Pending;
            }
            else if (states[id] is InstanceState.Terminated or InstanceState.NotFound)
            {
                _directory.Forget(id);
            }
        }

        return states;
    }

    public async Task<IReadOnlyList<InstanceSummary>> ListByTagAsync(string key, string value, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(key);
        ArgumentNullException.ThrowIfNull(value);
        var found = new List<InstanceSummary>();
        foreach (var target in _targets.All)
        {
            string? next = null;
            do
            {
                var page = await target.Api.DescribeInstancesAsync(new DescribeInstancesRequest
                {
                    Filters = [new Filter($"tag:{key}", [value])],
                    MaxResults = _options.ListPageSize,
                    NextToken = next,
                }, cancellationToken);
                foreach (var instance in (page.Reservations ?? []).SelectMany(r => r.Instances ?? []))
                {
                    var state = Ec2InstanceStates.From(instance.State?.Name?.Value);
                    if (state != InstanceState.Terminated)
                    {
                        _directory.Seen(instance.InstanceId, target);
                    }

                    var tags = (instance.Tags ?? []).Where(t => t.Key is not null)
                        .GroupBy(t => t.Key, StringComparer.Ordinal)
                        .ToDictionary(g => g.Key, g => g.First().Value ?? "", StringComparer.Ordinal);
                    found.Add(new InstanceSummary(instance.InstanceId, state, tags));
                }

                next = page.NextToken;
            }
            while (!string.IsNullOrEmpty(next));
        }

        return found;
    }

    // Registered under two service types, so the container disposes it twice.
    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposeCount, 1) == 1)
        {
            return;
        }

        foreach (var batching in _terminations)
        {
            batching.Dispose();
        }

        foreach (var batching in _descriptions)
        {
            batching.Dispose();
        }
    }

    private static bool IsInstanceId(string? instanceId) => instanceId is not null && InstanceIdPattern().IsMatch(instanceId);

    /// <summary>The target that holds the instance: known from a launch or a listing, else asked of every target.</summary>
    private async Task<Ec2Target?> LocateAsync(string instanceId, CancellationToken cancellationToken)
    {
        if (_directory.TargetOf(instanceId) is { } known)
        {
            return known;
        }

        if (_targets.All.Count == 1)
        {
            return _targets.All[0];
        }

        var (target, _) = await ProbeAsync(instanceId, cancellationToken);
        return target;
    }

    private async Task<(Ec2Target? Target, InstanceState State)> ProbeAsync(string instanceId, CancellationToken cancellationToken)
    {
        var answers = await Task.WhenAll(_targets.All.Select(async t => (Target: t, State: await _descriptions[t.Index].RunAsync(instanceId, cancellationToken))));
        foreach (var (target, state) in answers)
        {
            if (state != InstanceState.NotFound)
            {
                return (target, state);
            }
        }

        return (null, InstanceState.NotFound);
    }

    private static async Task<IReadOnlyDictionary<string, InstanceState>> DescribeBatchAsync(Ec2Target target, IReadOnlyList<string> ids, CancellationToken cancellationToken)
    {
        // A filter, not InstanceIds: one unknown id then drops out of the answer instead of failing the whole batch.
        var found = new Dictionary<string, InstanceState>(StringComparer.Ordinal);
        string? next = null;
        do
        {
            var page = await target.Api.DescribeInstancesAsync(new DescribeInstancesRequest
            {
                Filters = [new Filter("instance-id", [.. ids])],
                NextToken = next,
            }, cancellationToken);
            foreach (var instance in (page.Reservations ?? []).SelectMany(r => r.Instances ?? []))
            {
                found[instance.InstanceId] = Ec2InstanceStates.From(instance.State?.Name?.Value);
            }

            next = page.NextToken;
        }
        while (!string.IsNullOrEmpty(next));

        return ids.ToDictionary(id => id, id => found.GetValueOrDefault(id, InstanceState.NotFound), StringComparer.Ordinal);
    }

    private async Task<IReadOnlyDictionary<string, TerminationAnswer>> TerminateBatchAsync(Ec2Target target, IReadOnlyList<string> ids, CancellationToken cancellationToken)
    {
        var outcomes = new Dictionary<string, TerminationAnswer>(StringComparer.Ordinal);
        var remaining = ids.ToList();
        while (remaining.Count > 0)
        {
            try
            {
                var response = await target.Api.TerminateInstancesAsync(new TerminateInstancesRequest { InstanceIds = [.. remaining] }, cancellationToken);
                foreach (var change in response.TerminatingInstances ?? [])
                {
                    outcomes[change.InstanceId] = Ec2InstanceStates.IsEnding(change.CurrentState?.Name?.Value) ? TerminationAnswer.Ending : TerminationAnswer.Unconfirmed;
                }

                foreach (var id in remaining)
                {
                    outcomes.TryAdd(id, TerminationAnswer.Unconfirmed);
                }

                return outcomes;
            }
            catch (Exception ex) when (Ec2Errors.Classify(ex, cancellationToken) == Ec2Failure.NotFound)
            {
                // EC2 fails the whole batch for one unknown id and names it: drop the named ones and send the rest again.
                var named = InstanceIdsInText().Matches(ex.Message).Select(m => m.Value).Where(remaining.Contains).ToHashSet(StringComparer.Ordinal);
                if (named.Count == 0 && remaining.Count == 1)
                {
                    named.Add(remaining[0]);
                }

                if (named.Count == 0)
                {
                    return await OneByOneAsync(target, remaining, outcomes, cancellationToken);
                }

                foreach (var id in named)
                {
                    outcomes[id] = TerminationAnswer.NotFound;
                }

                remaining.RemoveAll(named.Contains);
            }
            catch (Exception ex) when (remaining.Count > 1 && Ec2Errors.Classify(ex, cancellationToken) == Ec2Failure.Refused)
            {
                // Refused as a whole (for example one instance outside the IAM policy's tag condition): each id on its own, so only the bad one fails.
                LogBatchSplit(_logger, remaining.Count, target.Name, Ec2Errors.Describe(ex));
                return await OneByOneAsync(target, remaining, outcomes, cancellationToken);
            }
        }

        return outcomes;
    }

    private async Task<IReadOnlyDictionary<string, TerminationAnswer>> OneByOneAsync(
        Ec2Target target, List<string> ids, Dictionary<string, TerminationAnswer> outcomes, CancellationToken cancellationToken)
    {
        foreach (var id in ids)
        {
            try
            {
                outcomes[id] = (await TerminateBatchAsync(target, [id], cancellationToken))[id];
            }
            catch (Exception ex) when (!cancellationToken.IsCancellationRequested)
            {
                // Only the caller of the id that failed sees the failure.
                outcomes[id] = new TerminationAnswer(TerminationOutcome.Failed, Ec2Errors.Describe(ex));
            }
        }

        return outcomes;
    }

    [GeneratedRegex("^i-[0-9a-f]{8,17}$")]
    private static partial Regex InstanceIdPattern();

    [GeneratedRegex("\\bi-[0-9a-f]{8,17}\\b")]
    private static partial Regex InstanceIdsInText();

    [LoggerMessage(Level = LogLevel.Information, Message = "EC2 {InstanceId} in {Target} is terminating")]
    private static partial void LogTerminating(ILogger logger, string instanceId, string target);

    [LoggerMessage(Level = LogLevel.Warning, Message = "TerminateInstances for {Count} instances in {Target} refused as a whole ({Error}); sending them one by one")]
    private static partial void LogBatchSplit(ILogger logger, int count, string target, string error);
}
