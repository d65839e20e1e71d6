using Builtiful.Jobs;
using Builtiful.Leases;
using Builtiful.Organisations;
using Builtiful.Embedded;
using Builtiful.Silo;
using Builtiful.Simulation;
using Builtiful.Simulation.GitHub;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;
using Orleans.Storage;
using Orleans.TestingHost;

namespace Builtiful.Grains.Tests;

/// <summary>
/// A real Orleans cluster (InProcessTestCluster) composed exactly as the host composes it, with the
/// simulated cloud, a simulated GitHub that mints runners but queues no job (tests play GitHub's webhooks) and a fake clock for deadlines.
/// It has no gateway, so its VMs boot without claiming a runner config (a test may claim through the lease grain).
/// Reminders tick every second of real time; what they decide depends only on the fake clock.
/// </summary>
public class LifecycleCluster : IAsyncLifetime
{
    public static readonly DateTimeOffset Epoch = new(2026, 3, 2, 9, 0, 0, TimeSpan.Zero);

    public FakeTimeProvider Clock { get; } = new(Epoch);

    public InProcessTestCluster Cluster { get; private set; } = null!;

    public IClusterClient Client => Cluster.Client;

    public SimulatedComputeProvider Compute => Cluster.Silos[0].ServiceProvider.GetRequiredService<SimulatedComputeProvider>();

    /// <summary>Grain calls a test chooses to lose on the way.</summary>
    public LostMessages Lost { get; } = new();

    public IReminderTable Reminders => Cluster.Silos[0].ServiceProvider.GetRequiredService<IReminderTable>();

    /// <summary>The silos' claim key (<c>Claims:Key</c>), so a test can derive a lease's claim token.</summary>
    public static readonly byte[] ClaimKey = System.Security.Cryptography.RandomNumberGenerator.GetBytes(32);

    /// <summary>There is no gateway in this cluster: launches name this claim URL, and the simulated VMs do not claim (tests play GitHub).</summary>
    public static readonly Uri ClaimUrl = new("http://127.0.0.1:9/api/runners/claim");

    public static IConfiguration Configuration { get; } = new ConfigurationBuilder()
        .AddJsonFile("builtiful.appsettings.json")
        .AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Leases:CheckPeriod"] = "00:00:01",
            ["Leases:TerminationPollInterval"] = "00:00:01",
            ["Leases:LaunchRetryDelay"] = "00:00:00.100",
            ["Organisations:MaxConcurrentVms"] = "2",
            ["Simulation:BootDelay"] = "00:00:30",
            ["Simulation:ClaimAfterBoot"] = "false",
            ["Claims:Key"] = Convert.ToBase64String(ClaimKey),
            ["Claims:Url"] = ClaimUrl.ToString(),
        })
        .Build();

    private IConfigurationRoot _siloConfiguration = null!;
    private IConfigurationProvider _changes = null!;

    /// <summary>Settings a derived cluster adds to <see cref="Configuration"/>.</summary>
    protected virtual IReadOnlyDictionary<string, string?> Settings { get; } = new Dictionary<string, string?>();

    /// <summary>
    /// GitHub's side: the runner configs are minted by the real App client over this world's REST API. It sends its
    /// deliveries nowhere (tests play GitHub's webhooks themselves) and queues no job, so VMs' runners only idle.
    /// </summary>
    public SimulatedGitHubHost GitHub { get; private set; } = null!;

    /// <summary>
    /// Changes one of this cluster's settings while it runs (e.g. a cloud's fault rate) and reloads, so options monitors
    /// see it. Only this cluster's own layer is written: setting a key on the root would also write it into the shared
    /// <see cref="Configuration"/> that every other test's cluster is reading at the same time.
    /// </summary>
    public void Change(string key, string? value)
    {
        _changes.Set(key, value);
        _siloConfiguration.Reload();
    }

    public async Task InitializeAsync()
    {
        GitHub = await SimulatedGitHubHost.StartAsync(new SimulatedGitHubOptions(), "lifecycle-webhook-secret", Clock, null, CancellationToken.None);
        var configuration = new ConfigurationBuilder()
            .AddConfiguration(Configuration)
            .AddInMemoryCollection(Settings)
            .AddInMemoryCollection(GitHub.AppSettings)
            .AddInMemoryCollection()
            .Build();
        _siloConfiguration = configuration;
        _changes = configuration.Providers.Last();
        var builder = new InProcessTestClusterBuilder(1);
        builder.ConfigureSilo((_, silo) =>
        {
            silo.Services.AddKeyedSingleton<TimeProvider>(BuiltifulClock.Key, Clock);
            silo.Services.AddSingleton(GitHub.World);
            silo.Services.AddBuiltifulGrainServices(configuration).AddEmbeddedProviders(configuration);
            silo.AddBuiltifulRuntime(configuration);
            silo.AddIncomingGrainCallFilter(Lost);
            ConfigureSilo(silo.Services);
        });
        Cluster = builder.Build();
        await Cluster.DeployAsync();
    }

    /// <summary>Services a derived cluster changes after the host's composition (decorators, counters).</summary>
    protected virtual void ConfigureSilo(IServiceCollection services)
    {
    }

    /// <summary>Puts <paramref name="decorate"/> around the host's grain storage, as a test's refusing or counting storage.</summary>
    protected static void DecorateGrainStorage(IServiceCollection services, Func<IGrainStorage, IGrainStorage> decorate)
    {
        var storage = services.Last(d => d.ServiceType == typeof(IGrainStorage) && Equals(d.ServiceKey, StorageNames.Grains));
        services.Remove(storage);
        services.AddKeyedSingleton<IGrainStorage>(StorageNames.Grains, (sp, key) => decorate((IGrainStorage)storage.KeyedImplementationFactory!(sp, key)));
    }

    /// <summary>Puts <paramref name="decorate"/> around the host's reminder table, however the host registered it.</summary>
    protected static void DecorateReminderTable(IServiceCollection services, Func<IReminderTable, IReminderTable> decorate)
    {
        var reminders = services.Last(d => d.ServiceType == typeof(IReminderTable));
        services.Remove(reminders);
        services.AddSingleton<IReminderTable>(sp => decorate(
            reminders.ImplementationFactory is { } factory ? (IReminderTable)factory(sp)
                : reminders.ImplementationInstance is IReminderTable instance ? instance
                : (IReminderTable)ActivatorUtilities.CreateInstance(sp, reminders.ImplementationType!)));
    }

    /// <summary>Settings of one warm pool, <c>linux</c>, of one idle VM that never boots (its take is all that happens).</summary>
    public static IReadOnlyDictionary<string, string?> OneIdlePoolVm { get; } = new Dictionary<string, string?>
    {
        ["Simulation:BootDelay"] = "01:00:00",
        ["Pools:linux:MachineType"] = "builtiful-2vcpu-ubuntu-2404",
        ["Pools:linux:MinIdle"] = "1",
        ["Pools:linux:MaxIdle"] = "1",
        ["Pools:linux:IdleLifetime"] = "00:40:00",
    };

    public virtual async Task DisposeAsync()
    {
        await Cluster.DisposeAsync();
        await GitHub.DisposeAsync();
    }

    /// <summary>Every idle activation goes, as on a silo restart: the next call loads what storage holds.</summary>
    public Task ReloadEverythingAsync() => Client.GetGrain<IManagementGrain>(0).ForceActivationCollection(TimeSpan.Zero);

    public IJobGrain Job(long id) => Client.GetGrain<IJobGrain>(id);

    public IVmLeaseGrain Lease(Guid id) => Client.GetGrain<IVmLeaseGrain>(id);

    public IOrganisationGrain Organisation(long installationId) => Client.GetGrain<IOrganisationGrain>(installationId);

    /// <summary>The organisation account an installation is on in the world.</summary>
    public static string Account(long installationId) => $"org-{installationId}";

    /// <summary>A repository of the installation's own account: GitHub's repository names are unique, so no two installations share one.</summary>
    public static string Repository(long installationId, string name = "octo-repo") => $"{Account(installationId)}/{name}";

    /// <summary>The installation's public repository, which <see cref="InstallAsync"/> adds besides the private <c>octo-repo</c>.</summary>
    public static string PublicRepository(long installationId) => Repository(installationId, "octo-site");

    /// <summary>Installs the App on a new organisation in the world, with its repositories <c>octo-repo</c> (private) and <c>octo-site</c> (public), and tells Builtiful.</summary>
    public async Task<long> InstallAsync()
    {
        var installationId = Random.Shared.NextInt64(1, long.MaxValue);
        await InstallInWorldAsync(installationId);
        await Organisation(installationId).ApplyInstallation(new InstallationChange
        {
            Action = InstallationAction.Created, AccountLogin = Account(installationId), AccountType = "Organization", SenderLogin = "octocat",
        });
        return installationId;
    }

    /// <summary>GitHub's side of an installation only: the world knows the organisation and its repositories; Builtiful has not heard yet.</summary>
    public async Task InstallInWorldAsync(long installationId)
    {
        await GitHub.World.InstallAsync(installationId, Account(installationId), AccountKind.Organization);
        AddRepository(installationId, "octo-repo");
        AddRepository(installationId, "octo-site", isPublic: true);
    }

    /// <summary>Adds a repository to the installation's account in the world and returns its full name.</summary>
    public string AddRepository(long installationId, string name, bool isPublic = false)
    {
        var fullName = Repository(installationId, name);
        GitHub.World.AddRepository(installationId, fullName, isPublic);
        return fullName;
    }

    public static WorkflowJobEvent JobEvent(long jobId, long installationId, JobStatus action, string label = "builtiful-2vcpu-ubuntu-2404",
        string? runnerName = null, string? conclusion = null, string? repository = null,
        RepositoryVisibility visibility = RepositoryVisibility.Private) => new()
        {
            JobId = jobId,
            Action = action,
            InstallationId = installationId,
            RunId = 7,
            RunAttempt = 1,
            Repository = repository ?? Repository(installationId),
            Visibility = visibility,
            Branch = "main",
            HeadSha = "3484a3fb816e0859fd6e1cea078d76385ff50625",
            WorkflowName = "CI",
            JobName = "build",
            Labels = [label],
            RunnerName = runnerName,
            Conclusion = conclusion,
            CreatedAt = Epoch,
        };

    public static long NewJobId() => Random.Shared.NextInt64(1, long.MaxValue);

    /// <summary>Queues a job and returns the lease the organisation started for it.</summary>
    public async Task<Guid> QueueAsync(long jobId, long installationId)
    {
        Assert.Equal(JobEventOutcome.Applied, await Job(jobId).Apply(JobEvent(jobId, installationId, JobStatus.Queued)));
        return await LeaseLaunchedForAsync(jobId, installationId) ?? throw new InvalidOperationException($"No lease was started for job {jobId}.");
    }

    /// <summary>The organisation's live lease launched for the job, if there is one.</summary>
    public async Task<Guid?> LeaseLaunchedForAsync(long jobId, long installationId)
    {
        foreach (var leaseId in (await Organisation(installationId).GetView()).LeaseIds)
        {
            if ((await Lease(leaseId).GetView())?.LaunchedForJobId == jobId)
            {
                return leaseId;
            }
        }

        return null;
    }

    /// <summary>Plays GitHub for a job run on the lease's runner: <c>in_progress</c>, then <c>completed</c> with success.</summary>
    public async Task RunOnLeaseAsync(long jobId, long installationId, Guid leaseId)
    {
        var runner = RunnerNames.ForLease(leaseId);
        await Job(jobId).Apply(JobEvent(jobId, installationId, JobStatus.InProgress, runnerName: runner));
        await Job(jobId).Apply(JobEvent(jobId, installationId, JobStatus.Completed, runnerName: runner, conclusion: "success"));
    }

    /// <summary>Starts a configured warm pool and waits for its first VM to be launched (its instance id known).</summary>
    public async Task<Pools.PoolVmView> FirstPoolVmAsync(string pool)
    {
        var grain = Client.GetGrain<Pools.IPoolGrain>(pool);
        await grain.Start();
        return (await Eventually.Until(
            async () => (await grain.GetView()).Vms.FirstOrDefault(v => v.InstanceId is not null),
            vm => vm is not null,
            $"pool {pool}'s first VM is launched"))!;
    }

    /// <summary>The claim a lease's VM sends after boot, with its first launch attempt's token.</summary>
    public Task<ClaimAnswer> ClaimAsync(Guid leaseId, string instanceId) =>
        Lease(leaseId).Claim(new ClaimRequest { InstanceId = instanceId, Token = ClaimTokens.For(ClaimKey, leaseId, 1) });

    /// <summary>A lease the organisation already lists may not have stored its order yet (its view is null): that is "not yet".</summary>
    public Task<LeaseView> LeaseReaches(Guid leaseId, LeasePhase phase) =>
        Eventually.Until(async () => (await Lease(leaseId).GetView())!, v => v is not null && v.Phase == phase, $"lease {leaseId} is {phase}");
}
