using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.Logging;

namespace Builtiful.Simulation.GitHub;

/// <summary>
/// GitHub, simulated: installations, repositories, runner groups, registered runners, workflow jobs and a webhook
/// delivery log, all its own. It assigns queued jobs to runners as GitHub does, sends <c>workflow_job</c> deliveries
/// to Builtiful's gateway, never redelivers by itself, and reads nothing of Builtiful's.
/// </summary>
/// <remarks>
/// One lock guards the state; deliveries are built under it and sent off it. Public async methods return once the
/// state has changed and its deliveries are queued for sending (not yet sent): await <see cref="WhenDeliveredAsync"/>
/// to wait until every delivery queued so far has been attempted and logged.
/// </remarks>
public sealed partial class SimulatedGitHub : IDisposable
{
    /// <summary>The group every organisation has.</summary>
    public const long DefaultRunnerGroupId = 1;

    private const string DroppedFault = "github.dropped-delivery";
    private const string DuplicatedFault = "github.duplicate-delivery";
    private const string ReorderedFault = "github.reordered-delivery";

    private readonly Lock _lock = new();
    private readonly SimulatedGitHubOptions _options;
    private readonly HttpClient _http;
    private readonly TimeProvider _time;
    private readonly ILogger? _logger;
    private readonly Random _random;
    private readonly RSA _appKey = RSA.Create(2048);
    private readonly CancellationTokenSource _stopping = new();
    private readonly ITimer _expiry;

    private readonly Dictionary<long, WorldInstallation> _installations = [];
    private readonly Dictionary<string, WorldRepository> _repositories = new(StringComparer.OrdinalIgnoreCase);
    private readonly Dictionary<long, WorldJob> _jobs = [];
    private readonly List<WorldJob> _jobOrder = [];

    // Queued jobs in the order they became queued: an idle runner takes the oldest it can.
    private readonly List<WorldJob> _queue = [];
    private readonly Dictionary<long, WorldRunner> _runners = [];
    private readonly Dictionary<string, WorldRunner> _jitCredentials = new(StringComparer.Ordinal);
    private readonly Dictionary<string, (long InstallationId, DateTimeOffset ExpiresAt)> _tokens = new(StringComparer.Ordinal);
    private readonly List<DeliveryRecord> _deliveries = [];
    private readonly Dictionary<long, PendingDelivery> _deliveryBodies = [];
    private readonly Dictionary<long, Task> _chains = [];
    private readonly HashSet<Task> _inFlight = [];
    private readonly Dictionary<string, int> _faults = new(StringComparer.Ordinal);
    private IReadOnlyList<Uri> _targets = [];
    private int _nextTarget;
    private long _nextJobId = 4_000_000_001;
    private long _nextRunnerId = 1;
    private long _nextRepositoryId = 700_000_001;
    private long _nextGroupId = DefaultRunnerGroupId + 1;
    private long _nextDeliveryId = 90_000_000_001;
    private int _redelivered;

    /// <summary>
    /// A world of its own. <paramref name="webhookSecret"/> signs deliveries; <paramref name="http"/> sends them (GitHub's
    /// 10 s limit is applied per delivery); <paramref name="time"/> drives run times, timeouts and the 24-hour expiry.
    /// </summary>
    public SimulatedGitHub(SimulatedGitHubOptions options, string webhookSecret, HttpClient http, TimeProvider time, ILogger? logger = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentException.ThrowIfNullOrEmpty(webhookSecret);
        ArgumentNullException.ThrowIfNull(http);
        ArgumentNullException.ThrowIfNull(time);
        _options = options;
        WebhookSecret = webhookSecret;
        _http = http;
        _time = time;
        _logger = logger;
        _random = options.Seed is { } seed ? new Random(seed) : new Random();
        AppPrivateKeyPem = _appKey.ExportRSAPrivateKeyPem();

        // GitHub's sweep of jobs queued too long, on world time.
        _expiry = time.CreateTimer(_ => _ = ExpireQueuedJobsAsync(), null, TimeSpan.FromMinutes(1), TimeSpan.FromMinutes(1));
    }

    /// <summary>The App's id, the issuer its JWTs must carry.</summary>
    public long AppId { get; } = 1_042_042;

    /// <summary>The App's RSA private key (PEM) that Builtiful signs its JWTs with; generated per world, never stored.</summary>
    public string AppPrivateKeyPem { get; }

    /// <summary>The secret deliveries are signed with.</summary>
    public string WebhookSecret { get; }

    /// <summary>How long installation tokens minted through <c>POST /app/installations/{id}/access_tokens</c> live.</summary>
    public TimeSpan TokenLifetime { get; set; } = TimeSpan.FromHours(1);

    internal TimeProvider Time => _time;

    /// <summary>Where deliveries go; several (a load balancer over gateways) are used round robin.</summary>
    public void SetWebhookTargets(IReadOnlyList<Uri> targets)
    {
        ArgumentNullException.ThrowIfNull(targets);
        lock (_lock)
        {
            _targets = [.. targets];
        }
    }

    /// <summary>Installs the App on an account and sends <c>installation.created</c>.</summary>
    public Task InstallAsync(long installationId, string login, AccountKind kind)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(login);
        lock (_lock)
        {
            if (_installations.ContainsKey(installationId))
            {
                throw new InvalidOperationException($"Installation {installationId} exists already.");
            }

            var installation = new WorldInstallation(installationId, login, kind);
            installation.Groups[DefaultRunnerGroupId] = new WorldRunnerGroup(DefaultRunnerGroupId, "Default", null, _options.DefaultGroupAllowsPublicRepositories);
            _installations[installationId] = installation;
            var repositories = _repositories.Values.Where(r => r.InstallationId == installationId);
            var body = WebhookPayloads.Installation(installationId, login, kind, AppId, repositories);
            Enqueue(-installationId, new PendingDelivery(Guid.NewGuid().ToString(), "installation", "created", installationId, null, null, body), faults: false);
        }

        return Task.CompletedTask;
    }

    /// <summary>Adds a repository to an installation.</summary>
    public void AddRepository(long installationId, string fullName, bool isPublic)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(fullName);
        var slash = fullName.IndexOf('/', StringComparison.Ordinal);
        if (slash <= 0 || slash == fullName.Length - 1 || fullName.IndexOf('/', slash + 1) >= 0)
        {
            throw new ArgumentException($"Repository '{fullName}' is not of the form owner/name.", nameof(fullName));
        }

        lock (_lock)
        {
            var installation = Installation(installationId);
            if (installation.Kind == AccountKind.User && !string.Equals(fullName[..slash], installation.Login, StringComparison.OrdinalIgnoreCase))
            {
                throw new ArgumentException($"Repository {fullName} is not owned by user {installation.Login}.", nameof(fullName));
            }

            if (_repositories.ContainsKey(fullName))
            {
                throw new InvalidOperationException($"Repository {fullName} exists already.");
            }

            _repositories[fullName] = new WorldRepository(_nextRepositoryId++, fullName, installationId, isPublic);
        }
    }

    /// <summary>
    /// Adds a runner group to an organisation: <paramref name="repositories"/> null admits every repository,
    /// <paramref name="allowsPublicRepositories"/> false refuses public ones (GitHub's default). Returns the group id.
    /// Every organisation has the group "Default" (id 1), which admits all repositories and public ones only when
    /// <see cref="SimulatedGitHubOptions.DefaultGroupAllowsPublicRepositories"/> says so.
    /// </summary>
    public long AddRunnerGroup(long installationId, string name, IReadOnlyList<string>? repositories, bool allowsPublicRepositories)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        lock (_lock)
        {
            var installation = Installation(installationId);
            if (installation.Kind != AccountKind.Organization)
            {
                throw new InvalidOperationException($"Installation {installationId} is on user {installation.Login}; only organisations have runner groups.");
            }

            var id = _nextGroupId++;
            installation.Groups[id] = new WorldRunnerGroup(id, name, repositories is null ? null : [.. repositories], allowsPublicRepositories);
            return id;
        }
    }

    /// <summary>Queues a job: sends <c>queued</c>, or <c>waiting</c> when it has an environment. Returns its id.</summary>
    public Task<long> QueueJobAsync(JobSpec spec)
    {
        ArgumentNullException.ThrowIfNull(spec);
        if (spec.Labels.Count == 0)
        {
            throw new ArgumentException("A job needs at least one label.", nameof(spec));
        }

        lock (_lock)
        {
            if (!_repositories.TryGetValue(spec.Repository, out var repository))
            {
                throw new InvalidOperationException($"Repository {spec.Repository} is unknown to this world.");
            }

            var id = spec.JobId ?? _nextJobId++;
            if (_jobs.ContainsKey(id))
            {
                throw new InvalidOperationException($"Job {id} exists already.");
            }

            var now = _time.GetUtcNow();
            var job = new WorldJob
            {
                Id = id,
                RunId = id / 3 + 1_000_000,
                Repository = repository,
                Labels = [.. spec.Labels],
                Environment = spec.Environment,
                RunTime = spec.RunTime ?? _options.DefaultRunTime,
                ConclusionWhenRun = spec.Conclusion,
                CreatedAt = now,
                Status = spec.Environment is null ? SimulatedJobStatus.Queued : SimulatedJobStatus.Waiting,
            };
            _jobs[id] = job;
            _jobOrder.Add(job);
            if (job.Status == SimulatedJobStatus.Waiting)
            {
                for (var i = 0; i < Math.Max(1, spec.WaitingDeliveries); i++)
                {
                    EnqueueJobEvent(job, "waiting");
                }
            }
            else
            {
                MakeQueued(job, now);
            }

            return Task.FromResult(id);
        }
    }

    /// <summary>A reviewer approves a waiting job: it becomes queued and <c>queued</c> is sent.</summary>
    public Task ApproveAsync(long jobId)
    {
        lock (_lock)
        {
            var job = Job(jobId);
            if (job.Status != SimulatedJobStatus.Waiting)
            {
                throw new InvalidOperationException($"Job {jobId} is {job.Status}, not waiting for approval.");
            }

            job.Approved = true;
            MakeQueued(job, _time.GetUtcNow());
        }

        return Task.CompletedTask;
    }

    /// <summary>Cancels a job: a waiting or queued one completes cancelled; a running one is stopped on its runner.</summary>
    public Task CancelAsync(long jobId)
    {
        lock (_lock)
        {
            var job = Job(jobId);
            switch (job.Status)
            {
                case SimulatedJobStatus.Waiting or SimulatedJobStatus.Queued:
                    Complete(job, "cancelled", CompletionCause.Cancelled);
                    break;
                case SimulatedJobStatus.InProgress:
                    var runner = job.Runner!;
                    Complete(job, "cancelled", CompletionCause.Cancelled);

                    // The runner stops the job and, being ephemeral, deregisters.
                    runner.RemovedAt = _time.GetUtcNow();
                    runner.Session?.Stop();
                    break;
                default:
                    break;
            }
        }

        return Task.CompletedTask;
    }

    /// <summary>Cancels every job queued longer than <see cref="SimulatedGitHubOptions.QueueTimeout"/>. Runs on the world's own timer too.</summary>
    public Task ExpireQueuedJobsAsync()
    {
        lock (_lock)
        {
            var now = _time.GetUtcNow();
            foreach (var job in _queue.Where(j => now - j.QueuedAt >= _options.QueueTimeout).ToList())
            {
                Complete(job, "cancelled", CompletionCause.Expired);
            }
        }

        return Task.CompletedTask;
    }

    /// <summary>
    /// A VM's runner comes online with the just-in-time config it was given. Null when the config is not one this
    /// world minted, was used already, or its registration was deleted.
    /// </summary>
    public RunnerSession? Connect(string encodedJitConfig)
    {
        if (JitCredential(encodedJitConfig) is not { } credential)
        {
            return null;
        }

        lock (_lock)
        {
            // One-time: the credential is spent whether or not the registration still exists.
            if (!_jitCredentials.Remove(credential, out var runner) || runner.RemovedAt is not null)
            {
                return null;
            }

            runner.OnlineAt = _time.GetUtcNow();
            var session = new RunnerSession(this, runner.Id, runner.Name);
            runner.Session = session;
            AssignRunner(runner);
            return session;
        }
    }

    /// <summary>
    /// Registers a just-in-time runner as <c>generate-jitconfig</c> does, for hosts that mint without REST:
    /// <paramref name="repository"/> set registers on that repository, else on the organisation in <paramref name="runnerGroupId"/>.
    /// </summary>
    public JitRegistration GenerateJitConfig(long installationId, string? repository, long runnerGroupId, string name, IReadOnlyList<string> labels)
    {
        lock (_lock)
        {
            var installation = Installation(installationId);
            var scope = repository is null ? RunnerScopeKey.OfOrganisation(installation.Login) : RunnerScopeKey.OfRepository(repository);
            var result = Mint(installationId, scope, name, runnerGroupId, labels);
            return result.Registration ?? throw new InvalidOperationException($"generate-jitconfig refused ({result.Status}): {result.Message}");
        }
    }

    /// <summary>Deletes a runner registration by id, as <c>DELETE .../actions/runners/{id}</c> does.</summary>
    public RunnerDeletion DeleteRunner(long runnerId)
    {
        lock (_lock)
        {
            return _runners.TryGetValue(runnerId, out var runner) ? Delete(runner) : RunnerDeletion.NotFound;
        }
    }

    public IReadOnlyList<JobRecord> Jobs
    {
        get
        {
            lock (_lock)
            {
                return [.. _jobOrder.Select(j => j.ToRecord())];
            }
        }
    }

    public IReadOnlyList<RunnerRecord> Runners
    {
        get
        {
            lock (_lock)
            {
                return [.. _runners.Values.OrderBy(r => r.Id).Select(r => r.ToRecord())];
            }
        }
    }

    public IReadOnlyList<DeliveryRecord> Deliveries
    {
        get
        {
            lock (_lock)
            {
                return [.. _deliveries];
            }
        }
    }

    /// <summary>Deliveries resent because Builtiful asked through <c>POST /app/hook/deliveries/{id}/attempts</c>.</summary>
    public int Redelivered
    {
        get
        {
            lock (_lock)
            {
                return _redelivered;
            }
        }
    }

    /// <summary>Faults injected (dropped, duplicated, reordered deliveries), by kind.</summary>
    public IReadOnlyDictionary<string, int> Faults
    {
        get
        {
            lock (_lock)
            {
                return new Dictionary<string, int>(_faults, StringComparer.Ordinal);
            }
        }
    }

    /// <summary>Completes once every delivery queued so far has been attempted and logged (held reordered ones excepted).</summary>
    public Task WhenDeliveredAsync()
    {
        lock (_lock)
        {
            return Task.WhenAll([.. _inFlight]);
        }
    }

    /// <summary>The body of a logged delivery, exactly as sent (for tests that verify the signature or fields).</summary>
    public byte[]? DeliveryBody(long deliveryId)
    {
        lock (_lock)
        {
            return _deliveryBodies.TryGetValue(deliveryId, out var pending) ? pending.Body : null;
        }
    }

    public void Dispose()
    {
        _expiry.Dispose();
        _stopping.Cancel();
        _stopping.Dispose();
        _appKey.Dispose();
    }

    // ---- runner sessions ----

    internal void CompleteRun(long runnerId, string conclusion)
    {
        lock (_lock)
        {
            var runner = _runners[runnerId];
            if (runner.Job is { Status: SimulatedJobStatus.InProgress } job && runner.Online)
            {
                Complete(job, conclusion, CompletionCause.Ran);

                // Just-in-time runners are ephemeral: GitHub drops the registration after its one job.
                runner.RemovedAt = _time.GetUtcNow();
                runner.Session?.Stop();
            }
        }
    }

    internal void Lose(long runnerId)
    {
        lock (_lock)
        {
            var runner = _runners[runnerId];
            if (!runner.Online)
            {
                return;
            }

            if (runner.Job is { Status: SimulatedJobStatus.InProgress } job)
            {
                Complete(job, "failure", CompletionCause.RunnerLost);
            }

            runner.OfflineAt = _time.GetUtcNow();
            runner.Session?.Stop();
        }
    }

    // ---- REST support (SimulatedGitHubServer) ----

    internal Task<bool> AppJwtValidAsync(string jwt) => AppJwt.VerifyAsync(jwt, _appKey, AppId, _time.GetUtcNow());

    internal (string Login, AccountKind Kind)? InstallationAccount(long installationId)
    {
        lock (_lock)
        {
            return _installations.TryGetValue(installationId, out var i) ? (i.Login, i.Kind) : null;
        }
    }

    internal (string Token, DateTimeOffset ExpiresAt)? IssueToken(long installationId)
    {
        lock (_lock)
        {
            if (!_installations.ContainsKey(installationId))
            {
                return null;
            }

            var token = "ghs_" + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(18));
            var expiresAt = _time.GetUtcNow() + TokenLifetime;
            _tokens[token] = (installationId, expiresAt);
            return (token, expiresAt);
        }
    }

    internal long? TokenInstallation(string token)
    {
        lock (_lock)
        {
            return _tokens.TryGetValue(token, out var issued) && issued.ExpiresAt > _time.GetUtcNow() ? issued.InstallationId : null;
        }
    }

    /// <summary>Whether the installation may manage runners in the scope: null when yes, else the refusal.</summary>
    internal (int Status, string Message)? ScopeRefusal(long installationId, RunnerScopeKey scope)
    {
        lock (_lock)
        {
            var installation = _installations[installationId];
            if (scope.Organisation is { } org)
            {
                return installation.Kind == AccountKind.Organization && string.Equals(installation.Login, org, StringComparison.OrdinalIgnoreCase)
                    ? null
                    : (404, "Not Found");
            }

            return _repositories.TryGetValue(scope.Repository!, out var repository) && repository.InstallationId == installationId
                ? null
                : (404, "Not Found");
        }
    }

    internal MintResult Mint(long installationId, RunnerScopeKey scope, string name, long runnerGroupId, IReadOnlyList<string> labels)
    {
        lock (_lock)
        {
            var installation = Installation(installationId);
            if (labels.Count == 0 || labels.Any(string.IsNullOrWhiteSpace) || string.IsNullOrWhiteSpace(name))
            {
                return new MintResult(422, "Invalid request. name and at least one label are required.", null);
            }

            if (scope.Organisation is not null)
            {
                if (installation.Kind != AccountKind.Organization)
                {
                    return new MintResult(404, "Not Found", null);
                }

                if (!installation.Groups.ContainsKey(runnerGroupId))
                {
                    return new MintResult(404, $"Runner group {runnerGroupId} not found", null);
                }
            }
            else if (!_repositories.TryGetValue(scope.Repository!, out var repository) || repository.InstallationId != installationId)
            {
                return new MintResult(404, "Not Found", null);
            }

            if (InScope(installationId, scope).Any(r => string.Equals(r.Name, name, StringComparison.OrdinalIgnoreCase)))
            {
                return new MintResult(409, $"Already exists - A runner with the name {name} already exists.", null);
            }

            var runner = new WorldRunner
            {
                Id = _nextRunnerId++,
                InstallationId = installationId,
                Name = name,
                Labels = [.. labels.Distinct(StringComparer.OrdinalIgnoreCase)],
                Repository = scope.Repository is null ? null : _repositories[scope.Repository].FullName,
                GroupId = scope.Organisation is null ? null : runnerGroupId,
                RegisteredAt = _time.GetUtcNow(),
            };
            _runners[runner.Id] = runner;
            var credential = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(24));
            _jitCredentials[credential] = runner;
            var config = Convert.ToBase64String(Encoding.UTF8.GetBytes(JsonSerializer.Serialize(new Dictionary<string, object>
            {
                [".runner"] = Convert.ToBase64String(Encoding.UTF8.GetBytes(JsonSerializer.Serialize(new { agentId = runner.Id, agentName = name, poolId = runnerGroupId }))),
                [".credentials"] = credential,
            })));
            return new MintResult(201, null, new JitRegistration(runner.ToRecord(), config));
        }
    }

    internal IReadOnlyList<(RunnerRecord Runner, bool Online, bool Busy)> RunnersIn(long installationId, RunnerScopeKey scope)
    {
        lock (_lock)
        {
            return [.. InScope(installationId, scope).OrderBy(r => r.Id).Select(r => (r.ToRecord(), r.Online, r.Busy))];
        }
    }

    internal RunnerDeletion DeleteRunner(long installationId, RunnerScopeKey scope, long runnerId)
    {
        lock (_lock)
        {
            var runner = InScope(installationId, scope).FirstOrDefault(r => r.Id == runnerId);
            return runner is null ? RunnerDeletion.NotFound : Delete(runner);
        }
    }

    internal IReadOnlyList<(DeliveryRecord Record, long? RepositoryId, TimeSpan Duration)> DeliveryLog()
    {
        lock (_lock)
        {
            return [.. _deliveries.Select(d => (d, _deliveryBodies[d.Id].RepositoryId, Durations.GetValueOrDefault(d.Id)))];
        }
    }

    private Dictionary<long, TimeSpan> Durations { get; } = [];

    /// <summary>Resends a logged delivery's exact payload (same guid) as a redelivery; false when the id is unknown.</summary>
    internal bool Redeliver(long deliveryId)
    {
        lock (_lock)
        {
            if (!_deliveryBodies.TryGetValue(deliveryId, out var pending))
            {
                return false;
            }

            _redelivered++;
            Track(SendAsync(pending, redelivery: true, drop: false));
            return true;
        }
    }

    // ---- under the lock ----

    private WorldInstallation Installation(long installationId) =>
        _installations.TryGetValue(installationId, out var installation)
            ? installation
            : throw new InvalidOperationException($"Installation {installationId} is unknown to this world.");

    private WorldJob Job(long jobId) =>
        _jobs.TryGetValue(jobId, out var job) ? job : throw new InvalidOperationException($"Job {jobId} is unknown to this world.");

    private IEnumerable<WorldRunner> InScope(long installationId, RunnerScopeKey scope) =>
        _runners.Values.Where(r => r.RemovedAt is null && r.InstallationId == installationId && (scope.Organisation is not null
            ? r.Repository is null
            : string.Equals(r.Repository, scope.Repository, StringComparison.OrdinalIgnoreCase)));

    private RunnerDeletion Delete(WorldRunner runner)
    {
        if (runner.RemovedAt is not null)
        {
            return RunnerDeletion.NotFound;
        }

        if (runner.Busy)
        {
            return RunnerDeletion.Busy;
        }

        runner.RemovedAt = _time.GetUtcNow();
        runner.Session?.Stop();
        return RunnerDeletion.Removed;
    }

    private void MakeQueued(WorldJob job, DateTimeOffset now)
    {
        job.Status = SimulatedJobStatus.Queued;
        job.QueuedAt = now;
        _queue.Add(job);
        EnqueueJobEvent(job, "queued");
        AssignJob(job);
    }

    private void Complete(WorldJob job, string conclusion, CompletionCause cause)
    {
        _queue.Remove(job);
        job.Status = SimulatedJobStatus.Completed;
        job.Conclusion = conclusion;
        job.Cause = cause;
        job.CompletedAt = _time.GetUtcNow();
        EnqueueJobEvent(job, "completed");
        if (job.HeldInProgress is { } held)
        {
            job.HeldInProgress = null;
            Enqueue(job.Id, held, faults: false);
        }
    }

    /// <summary>A job just became queued: no idle runner admitted an older queued job, so any idle runner that admits this one takes it.</summary>
    private void AssignJob(WorldJob job)
    {
        var runner = _runners.Values.Where(r => r.Online && r.Job is null && Admits(r, job)).OrderBy(r => r.OnlineAt).ThenBy(r => r.Id).FirstOrDefault();
        if (runner is not null)
        {
            Start(job, runner);
        }
    }

    /// <summary>A runner just came online: it takes the oldest queued job it admits.</summary>
    private void AssignRunner(WorldRunner runner)
    {
        if (_queue.FirstOrDefault(j => Admits(runner, j)) is { } job)
        {
            Start(job, runner);
        }
    }

    private bool Admits(WorldRunner runner, WorldJob job)
    {
        var repository = job.Repository;
        if (runner.InstallationId != repository.InstallationId
            || !job.Labels.All(l => runner.Labels.Contains(l, StringComparer.OrdinalIgnoreCase)))
        {
            return false;
        }

        if (runner.Repository is not null)
        {
            return string.Equals(runner.Repository, repository.FullName, StringComparison.OrdinalIgnoreCase);
        }

        return _installations[runner.InstallationId].Groups.TryGetValue(runner.GroupId!.Value, out var group) && group.Admits(repository);
    }

    private void Start(WorldJob job, WorldRunner runner)
    {
        _queue.Remove(job);
        job.Status = SimulatedJobStatus.InProgress;
        job.StartedAt = _time.GetUtcNow();
        job.Runner = runner;
        runner.Job = job;
        var group = Group(runner);
        var pending = Pending(job, "in_progress", group);
        if (Strike(ReorderedFault, _options.DeliveryReorderRate))
        {
            job.HeldInProgress = pending;
        }
        else
        {
            Enqueue(job.Id, pending, faults: true);
        }

        runner.Session?.Hand(new RunnerJob(job.Id, job.Repository.FullName, job.Labels, job.RunTime, job.ConclusionWhenRun));
    }

    private WorldRunnerGroup? Group(WorldRunner runner) =>
        runner.GroupId is { } id && _installations[runner.InstallationId].Groups.TryGetValue(id, out var group) ? group : null;

    private void EnqueueJobEvent(WorldJob job, string action) =>
        Enqueue(job.Id, Pending(job, action, job.Runner is null ? null : Group(job.Runner)), faults: true);

    private static PendingDelivery Pending(WorldJob job, string action, WorldRunnerGroup? group) =>
        new(Guid.NewGuid().ToString(), "workflow_job", action, job.Repository.InstallationId, job.Id, job.Repository.Id,
            WebhookPayloads.WorkflowJob(action, job, group));

    private bool Strike(string fault, double rate)
    {
        if (rate <= 0 || _random.NextDouble() >= rate)
        {
            return false;
        }

        _faults[fault] = _faults.GetValueOrDefault(fault) + 1;
        return true;
    }

    /// <summary>Chains the delivery after the earlier ones of the same job (or installation), so they go out in order.</summary>
    private void Enqueue(long chainKey, PendingDelivery pending, bool faults)
    {
        var drop = faults && Strike(DroppedFault, _options.DeliveryDropRate);
        var copies = !drop && faults && Strike(DuplicatedFault, _options.DeliveryDuplicateRate) ? 2 : 1;
        var previous = _chains.GetValueOrDefault(chainKey) ?? Task.CompletedTask;
        var next = SendAfterAsync(previous, pending, drop, copies);
        _chains[chainKey] = next;
        Track(next);
    }

    private void Track(Task task)
    {
        _inFlight.Add(task);
        _ = task.ContinueWith(
            t =>
            {
                lock (_lock)
                {
                    _inFlight.Remove(t);
                }
            },
            CancellationToken.None,
            TaskContinuationOptions.ExecuteSynchronously,
            TaskScheduler.Default);
    }

    // ---- off the lock ----

    private async Task SendAfterAsync(Task previous, PendingDelivery pending, bool drop, int copies)
    {
        await previous.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing | ConfigureAwaitOptions.ForceYielding);
        for (var copy = 0; copy < copies; copy++)
        {
            await SendAsync(pending, redelivery: false, drop);
        }
    }

    private async Task SendAsync(PendingDelivery pending, bool redelivery, bool drop)
    {
        // Never on the caller's thread: the caller may hold the lock.
        await Task.Yield();
        var startedAt = _time.GetUtcNow();
        var status = 0;
        Uri? target = null;
        lock (_lock)
        {
            if (_targets.Count > 0)
            {
                target = _targets[_nextTarget++ % _targets.Count];
            }
        }

        if (!drop && target is not null && !_stopping.IsCancellationRequested)
        {
            status = await PostAsync(target, pending);
        }

        lock (_lock)
        {
            var id = _nextDeliveryId++;
            _deliveries.Add(new DeliveryRecord(id, pending.Guid, pending.Event, pending.Action, pending.InstallationId, pending.JobId, status, startedAt, redelivery));
            _deliveryBodies[id] = pending;
            Durations[id] = _time.GetUtcNow() - startedAt;
        }
    }

    private async Task<int> PostAsync(Uri target, PendingDelivery pending)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, target);
        request.Content = new ByteArrayContent(pending.Body);
        request.Content.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue("application/json");
        request.Headers.Add("X-GitHub-Event", pending.Event);
        request.Headers.Add("X-GitHub-Delivery", pending.Guid);
        request.Headers.Add("X-GitHub-Hook-ID", "420420420");
        request.Headers.Add("X-GitHub-Hook-Installation-Target-Type", "integration");
        request.Headers.Add("X-GitHub-Hook-Installation-Target-Id", AppId.ToString(System.Globalization.CultureInfo.InvariantCulture));
        request.Headers.Add(Builtiful.GitHub.WebhookSignature.Header, Builtiful.GitHub.WebhookSignature.Sign(WebhookSecret, pending.Body));
        request.Headers.TryAddWithoutValidation("User-Agent", "GitHub-Hookshot/b1f2c3d");
        try
        {
            using var timeout = new CancellationTokenSource(_options.DeliveryTimeout, _time);
            using var linked = CancellationTokenSource.CreateLinkedTokenSource(timeout.Token, _stopping.Token);
            using var response = await _http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, linked.Token);
            return (int)response.StatusCode;
        }
        catch (Exception ex) when (ex is HttpRequestException or OperationCanceledException or ObjectDisposedException)
        {
            if (_logger is not null)
            {
                LogFailed(_logger, pending.Event, pending.Action, pending.Guid, ex.GetType().Name);
            }

            return 0;
        }
    }

    private static string? JitCredential(string encodedJitConfig)
    {
        try
        {
            using var document = JsonDocument.Parse(Convert.FromBase64String(encodedJitConfig));
            return document.RootElement.TryGetProperty(".credentials", out var credential) && credential.ValueKind == JsonValueKind.String
                ? credential.GetString()
                : null;
        }
        catch (Exception ex) when (ex is FormatException or JsonException or ArgumentNullException)
        {
            return null;
        }
    }

    [LoggerMessage(Level = LogLevel.Debug, Message = "Simulated GitHub: delivery {Event}.{Action} {Guid} failed ({Error})")]
    private static partial void LogFailed(ILogger logger, string @event, string? action, string guid, string error);
}

/// <summary>A just-in-time registration: the runner as GitHub lists it, and the config only its VM may use (once).</summary>
public sealed class JitRegistration(RunnerRecord runner, string encodedJitConfig)
{
    public RunnerRecord Runner { get; } = runner;

    /// <summary>A one-time credential: never log it.</summary>
    public string EncodedJitConfig { get; } = encodedJitConfig;
}

/// <summary>The outcome of deleting a runner registration.</summary>
public enum RunnerDeletion
{
    Removed = 0,
    NotFound = 1,

    /// <summary>GitHub refuses (422) to delete a runner in the middle of a job.</summary>
    Busy = 2,
}

internal sealed record MintResult(int Status, string? Message, JitRegistration? Registration);

/// <summary>Where runners are registered: <c>orgs/{org}</c> or <c>repos/{owner}/{repo}</c>.</summary>
internal readonly record struct RunnerScopeKey(string? Organisation, string? Repository)
{
    public static RunnerScopeKey OfOrganisation(string login) => new(login, null);

    public static RunnerScopeKey OfRepository(string fullName) => new(null, fullName);
}

/// <summary>One online runner, as the runner binary on a VM holds its connection to GitHub.</summary>
public sealed class RunnerSession
{
    private readonly SimulatedGitHub _world;
    private readonly long _runnerId;
    private readonly TaskCompletionSource<RunnerJob?> _job = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TaskCompletionSource _stopped = new(TaskCreationOptions.RunContinuationsAsynchronously);

    internal RunnerSession(SimulatedGitHub world, long runnerId, string runnerName)
    {
        _world = world;
        _runnerId = runnerId;
        RunnerName = runnerName;
    }

    public string RunnerName { get; }

    public long RunnerId => _runnerId;

    /// <summary>Completes when GitHub is done with this runner: its job ended or was cancelled, its registration deleted, or it was lost.</summary>
    public Task Stopped => _stopped.Task;

    /// <summary>Waits until GitHub hands this runner a job; null when the registration was deleted while it waited.</summary>
    public Task<RunnerJob?> WaitForJobAsync(CancellationToken cancellationToken) => _job.Task.WaitAsync(cancellationToken);

    /// <summary>The job ran to its end; GitHub sends <c>completed</c> and drops the just-in-time registration. A no-op once the job was stopped.</summary>
    public Task CompleteAsync(string conclusion)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(conclusion);
        _world.CompleteRun(_runnerId, conclusion);
        return Task.CompletedTask;
    }

    /// <summary>The VM died: the job (if any) fails as GitHub fails a job whose runner is lost.</summary>
    public Task LostAsync()
    {
        _world.Lose(_runnerId);
        return Task.CompletedTask;
    }

    internal void Hand(RunnerJob job) => _job.TrySetResult(job);

    internal void Stop()
    {
        _job.TrySetResult(null);
        _stopped.TrySetResult();
    }
}

/// <summary>Configuration section <c>Simulation:GitHub</c>.</summary>
public sealed class SimulatedGitHubOptions
{
    public const string Section = "Simulation:GitHub";

    /// <summary>GitHub cancels a job that stays queued this long.</summary>
    public TimeSpan QueueTimeout { get; set; } = TimeSpan.FromHours(24);

    /// <summary>GitHub gives a delivery this long to be answered; past it the delivery failed.</summary>
    public TimeSpan DeliveryTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>How long a job runs when its spec does not say.</summary>
    public TimeSpan DefaultRunTime { get; set; } = TimeSpan.FromSeconds(5);

    public bool DefaultGroupAllowsPublicRepositories { get; set; }

    /// <summary>A delivery is lost on the way: its log entry shows it failed, and only a redelivery brings it.</summary>
    public double DeliveryDropRate { get; set; }

    /// <summary>A delivery arrives twice.</summary>
    public double DeliveryDuplicateRate { get; set; }

    /// <summary>A job's <c>in_progress</c> is sent after its <c>completed</c>.</summary>
    public double DeliveryReorderRate { get; set; }

    public int? Seed { get; set; }
}
