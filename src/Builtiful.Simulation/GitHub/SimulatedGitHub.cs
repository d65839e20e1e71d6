namespace Builtiful.Simulation.GitHub;

/// <summary>
/// GitHub, simulated: installations, repositories, runner groups, registered runners, workflow jobs and a webhook
/// delivery log, all its own. It assigns queued jobs to runners as GitHub does, sends <c>workflow_job</c> deliveries
/// to Builtiful's gateway, never redelivers by itself, and reads nothing of Builtiful's.
/// CONTRACT SKELETON: the members below are the agreed API; the implementation replaces the bodies.
/// </summary>
public sealed class SimulatedGitHub : IDisposable
{
    /// <summary>
    /// A world of its own. <paramref name="webhookSecret"/> signs deliveries; <paramref name="http"/> sends them (GitHub's
    /// 10 s limit is applied per delivery); <paramref name="time"/> drives run times, timeouts and the 24-hour expiry.
    /// </summary>
    public SimulatedGitHub(SimulatedGitHubOptions options, string webhookSecret, HttpClient http, TimeProvider time, Microsoft.Extensions.Logging.ILogger? logger = null) =>
        throw new NotImplementedException();

    /// <summary>The App's id, the issuer its JWTs must carry.</summary>
    public long AppId => throw new NotImplementedException();

    /// <summary>The App's RSA private key (PEM) that Builtiful signs its JWTs with; generated per world, never stored.</summary>
    public string AppPrivateKeyPem => throw new NotImplementedException();

    /// <summary>The secret deliveries are signed with.</summary>
    public string WebhookSecret => throw new NotImplementedException();

    /// <summary>Where deliveries go; several (a load balancer over gateways) are used round robin.</summary>
    public void SetWebhookTargets(IReadOnlyList<Uri> targets) => throw new NotImplementedException();

    /// <summary>Installs the App on an account and sends <c>installation.created</c>.</summary>
    public Task InstallAsync(long installationId, string login, AccountKind kind) => throw new NotImplementedException();

    /// <summary>Adds a repository to an installation.</summary>
    public void AddRepository(long installationId, string fullName, bool isPublic) => throw new NotImplementedException();

    /// <summary>
    /// Adds a runner group to an organisation: <paramref name="repositories"/> null admits every repository,
    /// <paramref name="allowsPublicRepositories"/> false refuses public ones (GitHub's default). Returns the group id.
    /// Every organisation has the group "Default" (id 1), which admits all repositories and public ones only when
    /// <see cref="SimulatedGitHubOptions.DefaultGroupAllowsPublicRepositories"/> says so.
    /// </summary>
    public long AddRunnerGroup(long installationId, string name, IReadOnlyList<string>? repositories, bool allowsPublicRepositories) =>
        throw new NotImplementedException();

    /// <summary>Queues a job: sends <c>queued</c>, or <c>waiting</c> when it has an environment. Returns its id.</summary>
    public Task<long> QueueJobAsync(JobSpec spec) => throw new NotImplementedException();

    /// <summary>A reviewer approves a waiting job: it becomes queued and <c>queued</c> is sent.</summary>
    public Task ApproveAsync(long jobId) => throw new NotImplementedException();

    /// <summary>Cancels a job: a waiting or queued one completes cancelled; a running one is stopped on its runner.</summary>
    public Task CancelAsync(long jobId) => throw new NotImplementedException();

    /// <summary>Cancels every job queued longer than <see cref="SimulatedGitHubOptions.QueueTimeout"/>. Runs on the world's own timer too.</summary>
    public Task ExpireQueuedJobsAsync() => throw new NotImplementedException();

    /// <summary>
    /// A VM's runner comes online with the just-in-time config it was given. Null when the config is not one this
    /// world minted, was used already, or its registration was deleted.
    /// </summary>
    public RunnerSession? Connect(string encodedJitConfig) => throw new NotImplementedException();

    public IReadOnlyList<JobRecord> Jobs => throw new NotImplementedException();

    public IReadOnlyList<RunnerRecord> Runners => throw new NotImplementedException();

    public IReadOnlyList<DeliveryRecord> Deliveries => throw new NotImplementedException();

    /// <summary>Deliveries resent because Builtiful asked through <c>POST /app/hook/deliveries/{id}/attempts</c>.</summary>
    public int Redelivered => throw new NotImplementedException();

    /// <summary>Faults injected (dropped, duplicated, reordered deliveries), by kind.</summary>
    public IReadOnlyDictionary<string, int> Faults => throw new NotImplementedException();

    public void Dispose() => throw new NotImplementedException();
}

/// <summary>One online runner, as the runner binary on a VM holds its connection to GitHub.</summary>
public sealed class RunnerSession
{
    public string RunnerName => throw new NotImplementedException();

    /// <summary>Waits until GitHub hands this runner a job; null when the registration was deleted while it waited.</summary>
    public Task<RunnerJob?> WaitForJobAsync(CancellationToken cancellationToken) => throw new NotImplementedException();

    /// <summary>The job ran to its end; GitHub sends <c>completed</c> and drops the just-in-time registration.</summary>
    public Task CompleteAsync(string conclusion) => throw new NotImplementedException();

    /// <summary>The VM died: the job (if any) fails as GitHub fails a job whose runner is lost.</summary>
    public Task LostAsync() => throw new NotImplementedException();
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

/// <summary>
/// The world's REST API on its own loopback port: the App endpoints Builtiful calls (installation tokens, installation
/// lookup, generate-jitconfig at organisation and repository scope, runner list and removal, webhook deliveries and
/// redelivery), checked as GitHub checks them, plus a small "GitHub UI" under <c>/simulation/</c> for people and demos
/// (install, add repositories, queue, approve and cancel jobs, list jobs and deliveries).
/// </summary>
public sealed class SimulatedGitHubServer : IAsyncDisposable
{
    /// <summary>The REST API root to give Builtiful as <c>GitHub:ApiUrl</c>.</summary>
    public Uri ApiUrl => throw new NotImplementedException();

    public static Task<SimulatedGitHubServer> StartAsync(SimulatedGitHub world, CancellationToken cancellationToken) =>
        throw new NotImplementedException();

    public ValueTask DisposeAsync() => throw new NotImplementedException();
}
