using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using Builtiful.Leases;
using Builtiful.Providers;
using Builtiful.Simulation.GitHub;
using Builtiful.Usage;

namespace Builtiful.Chaos;

/// <summary>
/// One chaos run: people use GitHub (jobs queued, some behind environment approvals, some cancelled, some in public
/// repositories the organisations' policy refuses), GitHub and the cloud misbehave (deliveries lost until Builtiful asks
/// for them again, doubled, reordered; capacity errors, lost launch answers, failed terminations, runners that never
/// come online), silos die by SIGKILL and the database restarts. Builtiful is then judged by GitHub's and the cloud's
/// records, not by its own. Durations are compressed (seconds instead of minutes) so a quick run fits in CI.
/// </summary>
public sealed class ChaosRun(ChaosSettings settings, TextWriter output)
{
    internal const string Secret = "chaos-webhook-secret";
    internal static readonly TimeSpan ReconcilerPeriod = TimeSpan.FromSeconds(2);

    internal static readonly string[] MachineTypes = ["builtiful-2vcpu-ubuntu-2404", "builtiful-4vcpu-ubuntu-2404"];

    /// <summary>The run's warm pool, of the commonest machine type (<see cref="ChaosCluster"/> configures it).</summary>
    internal const string Pool = "chaos";

    private readonly Random _random = new(settings.Seed);
    private readonly ConcurrentBag<Task> _people = [];
    private int _approvals;

    /// <summary>When the killed silo's successor had started.</summary>
    private DateTimeOffset? _recoveredAt;

    /// <summary>Jobs of the pool's machine type queued once the pool has recovered from the silo's death.</summary>
    private const int LateJobs = 4;

    private static readonly TimeSpan LateWaveWait = TimeSpan.FromSeconds(30);

    /// <summary>Idle life a pool VM must have left to be waited for: more than the pool's hand-out margin (8 s of 32 s here).</summary>
    private static readonly TimeSpan LateJobIdleLeft = TimeSpan.FromSeconds(12);

    public async Task<ChaosResult> RunAsync(CancellationToken cancellationToken = default)
    {
        var clock = Stopwatch.StartNew();
        await using var world = await ChaosWorld.StartAsync(settings, Secret, cancellationToken);
        await using var cluster = await ChaosCluster.StartAsync(settings, world, Secret, output, cancellationToken);
        var github = world.GitHub;
        var startedMonth = UsageMonth.Of(DateTimeOffset.UtcNow);

        // Half the organisations install the App before GitHub can reach Builtiful: their installation.created fails
        // and comes back only through Builtiful's delivery recovery, while their first jobs are already arriving.
        var organisations = Enumerable.Range(0, settings.Organisations).Select(i => new ChaosOrganisation(10_000 + i, $"chaos-org-{i}")).ToList();
        var unannounced = organisations.Count / 2;
        for (var i = 0; i < organisations.Count; i++)
        {
            if (i == unannounced)
            {
                cluster.RouteDeliveries();
            }

            var organisation = organisations[i];
            await github.InstallAsync(organisation.InstallationId, organisation.Login, AccountKind.Organization);
            foreach (var repository in organisation.PrivateRepositories)
            {
                github.AddRepository(organisation.InstallationId, repository, isPublic: false);
            }

            github.AddRepository(organisation.InstallationId, organisation.PublicRepository, isPublic: true);
        }

        var plans = Enumerable.Range(0, settings.Jobs).Select(i => Plan(organisations[i % organisations.Count])).ToList();
        output.WriteLine($"chaos: {plans.Count} jobs across {organisations.Count} organisations on {settings.Silos} silo processes: "
            + $"{plans.Count(p => p.Environment is not null)} behind approvals, {plans.Count(p => p.CancelAfter is not null)} to be cancelled, {plans.Count(p => p.Refused)} refused by policy");

        await QueueAllAsync(cluster, github, plans, cancellationToken);
        var late = await QueueLateWaveAsync(world, organisations, cancellationToken);
        plans.AddRange(late);
        await Task.WhenAll(_people);
        var problems = await SettleAsync(world, cluster, plans, clock, cancellationToken);

        // A refused job waits at GitHub for a runner that never comes; its author gives up on it.
        foreach (var plan in plans.Where(p => p.Refused))
        {
            await github.CancelAsync(plan.JobId);
        }

        // The reconciler now has a few periods to sweep up strays; a VM still alive after that is a leak.
        var sweepDeadline = clock.Elapsed + (3 * ReconcilerPeriod);
        while (world.Cloud.Vms.Any(vm => vm.State is not (InstanceState.Terminated or InstanceState.NotFound)) && clock.Elapsed < sweepDeadline)
        {
            await Task.Delay(TimeSpan.FromMilliseconds(200), cancellationToken);
        }

        return await JudgeAsync(world, cluster, plans, organisations, startedMonth, clock, problems);
    }

    private JobPlan Plan(ChaosOrganisation organisation)
    {
        var refused = _random.NextDouble() < settings.RefusedRate;
        var approval = !refused && _random.NextDouble() < settings.ApprovalRate;
        var cancelled = !refused && _random.NextDouble() < settings.CancelRate;
        return new JobPlan
        {
            Organisation = organisation,
            Repository = refused ? organisation.PublicRepository : organisation.PrivateRepositories[_random.Next(organisation.PrivateRepositories.Count)],
            Labels = [MachineTypes[_random.NextDouble() < 0.7 ? 0 : 1]],
            Refused = refused,
            Environment = approval ? "production" : null,
            WaitingDeliveries = _random.NextDouble() < 0.5 ? 2 : 1,
            ApproveAfter = TimeSpan.FromMilliseconds(_random.Next(200, 1500)),
            CancelAfter = cancelled ? TimeSpan.FromMilliseconds(_random.Next(0, 1500)) : null,
        };
    }

    /// <summary>Jobs arrive in batches of 20 every 100 ms; a silo is killed a third of the way through, the database restarted at two thirds.</summary>
    private async Task QueueAllAsync(ChaosCluster cluster, SimulatedGitHub github, List<JobPlan> plans, CancellationToken cancellationToken)
    {
        var batches = plans.Chunk(20).ToList();
        for (var b = 0; b < batches.Count; b++)
        {
            if (settings.KillSilo && b == batches.Count / 3)
            {
                await cluster.KillAndRestartSiloAsync(cancellationToken);
                _recoveredAt = DateTimeOffset.UtcNow;
            }

            if (settings.RestartDatabase && b == 2 * batches.Count / 3)
            {
                await cluster.RestartDatabaseAsync();
            }

            foreach (var plan in batches[b])
            {
                plan.JobId = await github.QueueJobAsync(new JobSpec
                {
                    Repository = plan.Repository,
                    Labels = plan.Labels,
                    Environment = plan.Environment,
                    WaitingDeliveries = plan.WaitingDeliveries,
                });
                if (plan.Environment is not null)
                {
                    _people.Add(ApproveLaterAsync(github, plan, cancellationToken));
                }

                if (plan.CancelAfter is { } delay)
                {
                    _people.Add(CancelLaterAsync(github, plan.JobId, delay, cancellationToken));
                }
            }

            await Task.Delay(TimeSpan.FromMilliseconds(100), cancellationToken);
        }
    }

    /// <summary>
    /// After the silo's death, one job at a time of the pool's machine type, each queued once the cloud runs an idle pool
    /// VM launched since the kill and far from its idle deadline, and followed until GitHub sees it start: every run asks
    /// the recovered pool a few times, however the earlier jobs fell around the kill. Bounded: a pool that never launches
    /// again gets its jobs all the same, and the judge finds out.
    /// </summary>
    private async Task<List<JobPlan>> QueueLateWaveAsync(ChaosWorld world, List<ChaosOrganisation> organisations, CancellationToken cancellationToken)
    {
        var since = _recoveredAt ?? DateTimeOffset.MinValue;
        var late = new List<JobPlan>();
        for (var i = 0; i < LateJobs; i++)
        {
            var deadline = DateTimeOffset.UtcNow + LateWaveWait;
            while (!world.Cloud.Vms.Any(vm => vm.Pool is not null && vm.LaunchedAt >= since && vm.State == InstanceState.Running
                && vm.ClaimedRunnerName is null && vm.ExpiresAt - DateTimeOffset.UtcNow > LateJobIdleLeft))
            {
                if (DateTimeOffset.UtcNow >= deadline)
                {
                    output.WriteLine($"chaos: no idle pool VM launched since the silo's death after {LateWaveWait.TotalSeconds:0} s; late job {i + 1} is queued anyway");
                    break;
                }

                await Task.Delay(TimeSpan.FromMilliseconds(200), cancellationToken);
            }

            var organisation = organisations[i % organisations.Count];
            var plan = new JobPlan
            {
                Organisation = organisation,
                Repository = organisation.PrivateRepositories[0],
                Labels = [MachineTypes[0]],
                Refused = false,
                WaitingDeliveries = 1,
                Late = true,
            };
            plan.JobId = await world.GitHub.QueueJobAsync(new JobSpec { Repository = plan.Repository, Labels = plan.Labels });
            late.Add(plan);

            // The next one once this one has a runner (or has waited long enough), so each finds the pool refilled.
            var started = DateTimeOffset.UtcNow + LateWaveWait;
            while (world.GitHub.Jobs.FirstOrDefault(j => j.Id == plan.JobId) is not { StartedAt: not null } && DateTimeOffset.UtcNow < started)
            {
                await Task.Delay(TimeSpan.FromMilliseconds(200), cancellationToken);
            }
        }

        output.WriteLine($"chaos: {late.Count} late jobs queued one by one for the recovered pool");
        return late;
    }

    private async Task ApproveLaterAsync(SimulatedGitHub github, JobPlan plan, CancellationToken cancellationToken)
    {
        await Task.Delay(plan.ApproveAfter, cancellationToken);
        if (github.Jobs.FirstOrDefault(j => j.Id == plan.JobId) is not { Status: SimulatedJobStatus.Waiting })
        {
            // Someone cancelled the run before a reviewer got to it.
            return;
        }

        try
        {
            await github.ApproveAsync(plan.JobId);
            Interlocked.Increment(ref _approvals);
        }
        catch (InvalidOperationException) when (github.Jobs.First(j => j.Id == plan.JobId).Status == SimulatedJobStatus.Completed)
        {
            // The cancellation won the race with the reviewer.
        }
    }

    private static async Task CancelLaterAsync(SimulatedGitHub github, long jobId, TimeSpan delay, CancellationToken cancellationToken)
    {
        await Task.Delay(delay, cancellationToken);
        await github.CancelAsync(jobId);
    }

    /// <summary>
    /// Waits until GitHub has every job that should run completed and the cloud has no VM left running, as GitHub and
    /// the cloud record it. Past the deadline, whatever is still open is reported with Builtiful's explanation.
    /// </summary>
    private async Task<List<string>> SettleAsync(ChaosWorld world, ChaosCluster cluster, List<JobPlan> plans, Stopwatch clock, CancellationToken cancellationToken)
    {
        var mustRun = plans.Where(p => p.MustRun).Select(p => p.JobId).ToHashSet();
        var quietSince = (TimeSpan?)null;
        var drained = false;
        while (true)
        {
            var open = world.GitHub.Jobs.Count(j => mustRun.Contains(j.Id) && j.Status != SimulatedJobStatus.Completed);
            if (open == 0 && !drained)
            {
                // Every job ran: the operator drains the pool (MaxIdle 0), so its idle VMs go and the cloud can empty.
                try
                {
                    await cluster.Grains.GetGrain<Pools.IPoolGrain>(Pool).Set(0, 0);
                    drained = true;
                }
                catch (Exception ex) when (ex is not OperationCanceledException)
                {
                    output.WriteLine($"chaos: draining the pool failed, retried: {ex.Message}");
                }
            }

            var live = world.Cloud.Vms.Count(vm => vm.State is not (InstanceState.Terminated or InstanceState.NotFound));
            if (open == 0 && live == 0)
            {
                // Quiet for two reconciler periods: no lease is about to launch a VM for a job that is gone.
                quietSince ??= clock.Elapsed;
                if (clock.Elapsed - quietSince >= 2 * ReconcilerPeriod)
                {
                    return [];
                }
            }
            else
            {
                quietSince = null;
            }

            if (clock.Elapsed > settings.Deadline)
            {
                var lines = new List<string> { $"not settled after {settings.Deadline}: GitHub holds {open} jobs open, the cloud runs {live} VMs" };
                var diagnosis = new ChaosDiagnosis(cluster.Grains, world);
                foreach (var job in world.GitHub.Jobs.Where(j => mustRun.Contains(j.Id) && j.Status != SimulatedJobStatus.Completed).Take(20))
                {
                    lines.AddRange(await diagnosis.DescribeJobAsync(job));
                }

                return lines;
            }

            output.WriteLine($"chaos: {clock.Elapsed.TotalSeconds:0}s: GitHub holds {open} jobs open, the cloud runs {live} VMs");
            await Task.Delay(TimeSpan.FromSeconds(1), cancellationToken);
        }
    }

    private async Task<ChaosResult> JudgeAsync(
        ChaosWorld world, ChaosCluster cluster, List<JobPlan> plans, List<ChaosOrganisation> organisations, string startedMonth, Stopwatch clock, List<string> problems)
    {
        var github = world.GitHub;
        var jobs = github.Jobs.ToDictionary(j => j.Id);
        var diagnosis = new ChaosDiagnosis(cluster.Grains, world);

        // Leaked: alive now, or terminated later than its deadline plus one reconciler period (no in-guest watchdog here).
        var leakedVms = world.Cloud.Vms.Where(vm => vm.State is not (InstanceState.Terminated or InstanceState.NotFound)
            || (vm.TerminatedAt is { } at && vm.ExpiresAt is { } deadline && at > deadline + ReconcilerPeriod)).ToList();
        foreach (var vm in leakedVms.Take(20))
        {
            problems.AddRange(await diagnosis.DescribeVmAsync(vm));
        }

        // Stranded: a job that should have run and did not run to its end on a runner.
        var stranded = 0;
        foreach (var plan in plans.Where(p => p.MustRun))
        {
            var record = jobs.GetValueOrDefault(plan.JobId);
            if (record is { Status: SimulatedJobStatus.Completed, Cause: CompletionCause.Ran, StartedAt: not null })
            {
                continue;
            }

            stranded++;
            problems.Add($"stranded: job {plan.JobId} is {record?.Status.ToString() ?? "unknown to GitHub"} ({record?.Cause}) on {record?.RunnerName ?? "no runner"}");
            if (stranded <= 20 && record is not null)
            {
                problems.AddRange(await diagnosis.DescribeJobAsync(record));
            }
        }

        // Policy: a job the organisation refuses must never run on a Builtiful runner.
        foreach (var plan in plans.Where(p => p.Refused))
        {
            if (jobs.GetValueOrDefault(plan.JobId) is { RunnerName: { } runner } && RunnerNames.TryParseLease(runner, out _))
            {
                problems.Add($"policy: job {plan.JobId} of refused repository {plan.Repository} ran on Builtiful's runner {runner}");
            }
        }

        // Approvals: no runner before approval.
        foreach (var plan in plans.Where(p => p.Environment is not null))
        {
            if (jobs.GetValueOrDefault(plan.JobId) is { Approved: false, RunnerName: not null } record)
            {
                problems.Add($"approval: job {plan.JobId} ran on {record.RunnerName} though it was never approved");
            }
        }

        var ranOnOurs = jobs.Values.Where(j => j.StartedAt is not null && RunnerNames.TryParseLease(j.RunnerName, out _)).ToList();
        var (duplicateUsage, unbilled, billingProblems) = await ChaosBilling.CheckAsync(
            cluster.Grains, ranOnOurs, organisations.Select(o => o.InstallationId), [startedMonth, UsageMonth.Of(DateTimeOffset.UtcNow)]);
        problems.AddRange(billingProblems);
        foreach (var jobId in unbilled.Take(5))
        {
            problems.AddRange(await diagnosis.DescribeJobAsync(jobs[jobId]));
        }

        if (problems.Count > 0)
        {
            problems.AddRange(cluster.Tails(30));
        }

        var pool = await cluster.Grains.GetGrain<Pools.IPoolGrain>(Pool).GetView();
        var idleExpired = world.Cloud.Vms.Count(vm => vm.Pool is not null && vm.ClaimedRunnerName is null);
        var poolRuns = world.Cloud.Vms.Where(vm => vm.Pool is not null && vm.ClaimedRunnerName is not null).Select(vm => vm.ClaimedRunnerName!).ToHashSet(StringComparer.Ordinal);
        var late = plans.Where(p => p.Late).ToList();
        var lateOnPool = late.Count(p => jobs.GetValueOrDefault(p.JobId) is { RunnerName: { } runner } && poolRuns.Contains(runner));
        var faults = new Dictionary<string, int>(world.CloudFaults.Injected, StringComparer.Ordinal);
        foreach (var (kind, count) in github.Faults)
        {
            faults[kind] = count;
        }

        faults["github.installation-unannounced"] = organisations.Count / 2;
        faults["cluster.silo-killed"] = cluster.SiloKills;
        faults["cluster.postgres-restart"] = settings.RestartDatabase ? 1 : 0;
        return new ChaosResult
        {
            Jobs = plans.Count,
            Faults = faults.Values.Sum(),
            LeakedVms = leakedVms.Count,
            StrandedJobs = stranded,
            ExtraVms = Math.Max(0, world.Cloud.Vms.Count - idleExpired - ranOnOurs.Count),
            PoolHits = pool.Hits,
            PoolMisses = pool.Misses,
            PoolIdleExpired = idleExpired,
            PoolRuns = poolRuns.Count,
            LateJobs = late.Count,
            LateJobsOnPoolVms = lateOnPool,
            PoolUsed = poolRuns.Count >= 1,
            DuplicateUsage = (int)duplicateUsage,
            UnbilledJobs = unbilled.Count,
            Approvals = _approvals,
            Redelivered = github.Redelivered,
            SiloKills = cluster.SiloKills,
            Seconds = clock.Elapsed.TotalSeconds,
            FaultsByKind = faults,
            Problems = problems,
        };
    }

    private sealed record ChaosOrganisation(long InstallationId, string Login)
    {
        public IReadOnlyList<string> PrivateRepositories { get; } = [$"{Login}/api", $"{Login}/web", $"{Login}/infra"];

        public string PublicRepository => $"{Login}/docs";
    }

    private sealed class JobPlan
    {
        public required ChaosOrganisation Organisation { get; init; }

        public required string Repository { get; init; }

        public required IReadOnlyList<string> Labels { get; init; }

        public required bool Refused { get; init; }

        public string? Environment { get; init; }

        public int WaitingDeliveries { get; init; }

        public TimeSpan ApproveAfter { get; init; }

        public TimeSpan? CancelAfter { get; init; }

        public long JobId { get; set; }

        /// <summary>Queued after the silo's death, once the pool had an idle VM again.</summary>
        public bool Late { get; init; }

        /// <summary>Not cancelled by a person and not refused by policy: GitHub must see it run to its end.</summary>
        public bool MustRun => !Refused && CancelAfter is null;
    }
}
