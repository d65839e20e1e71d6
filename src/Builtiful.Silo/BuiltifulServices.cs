using Builtiful.Reconciliation;
using Builtiful.Compute.Ec2;
using Builtiful.Hosting;
using Builtiful.GitHub;
using Builtiful.Leases;
using Builtiful.Machines;
using Builtiful.Organisations;
using Builtiful.Providers;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using Orleans.Configuration;
using Orleans.Dashboard;
using Orleans.Storage;
using Builtiful.Silo.Storage;
using Npgsql;

namespace Builtiful.Silo;

/// <summary>The silo's composition: grains' options, the production providers, storage and reminders, clustering. Both hosts and the test clusters call it.</summary>
public static class BuiltifulServices
{
    /// <summary>Grains' dependencies: catalogue, deadlines, limits, clock, compute provider and runner-config source.</summary>
    public static IServiceCollection AddBuiltifulGrainServices(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddValidatedOptions<LeaseOptions, LeaseOptionsValidator>(configuration, LeaseOptions.Section);
        services.AddValidatedOptions<OrganisationOptions, OrganisationOptionsValidator>(configuration, OrganisationOptions.Section);
        services.AddOptions<ClaimOptions>().Bind(configuration.GetSection(ClaimOptions.Section));
        services.TryAddSingleton<IClaimAddress, ConfiguredClaimAddress>();
        services.AddOptions<MachineCatalogueOptions>().Bind(configuration.GetSection(MachineCatalogueOptions.Section));
        services.AddSingleton<MachineCatalogue>();
        services.AddOptions<Pools.PoolsOptions>().ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IConfigureOptions<Pools.PoolsOptions>>(new Pools.PoolsOptionsSetup(configuration)));
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<Pools.PoolsOptions>, Pools.PoolsOptionsValidator>());
        Telemetry.TelemetryServiceCollectionExtensions.AddBuiltifulGrainTelemetry(services);
        services.AddValidatedOptions<DeliveryRecoveryOptions, DeliveryRecoveryOptionsValidator>(configuration, DeliveryRecoveryOptions.Section);
        services.AddValidatedOptions<ReconcilerOptions, ReconcilerOptionsValidator>(configuration, ReconcilerOptions.Section);
        services.AddValidatedOptions<Usage.UsageOptions, Usage.UsageOptionsValidator>(configuration, Usage.UsageOptions.Section);
        services.AddValidatedOptions<Retention.RetentionOptions, Retention.RetentionOptionsValidator>(configuration, Retention.RetentionOptions.Section);
        services.TryAddKeyedSingleton(BuiltifulClock.Key, TimeProvider.System);

        // One launch budget per account and region for the whole cluster (a grain), whatever provider launches.
        services.AddSingleton<Providers.ILaunchBudget, Launching.ClusterLaunchBudget>();

        return services;
    }

    /// <summary>A section bound to its options, checked at start by the validator beside the options class (data annotations and the options validator generator).</summary>
    private static void AddValidatedOptions<TOptions, TValidator>(this IServiceCollection services, IConfiguration configuration, string section)
        where TOptions : class
        where TValidator : class, IValidateOptions<TOptions>
    {
        services.AddOptions<TOptions>().Bind(configuration.GetSection(section)).ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<TOptions>, TValidator>());
    }

    /// <summary>
    /// The production providers: EC2 for VMs and a real GitHub App for runner configs. <see cref="ProductionRequirements"/>
    /// has checked beforehand that configuration asks for them.
    /// </summary>
    public static IServiceCollection AddProductionProviders(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddEc2Compute(configuration);
        services.AddGitHubApp(configuration);
        return services;
    }

    /// <summary>Orleans' grain directory options (<see cref="GrainDirectoryOptions"/>), e.g. <c>Orleans:Directory:CacheSize</c>.</summary>
    public const string DirectorySection = "Orleans:Directory";

    /// <summary>The directory cache's bound unless <c>Orleans:Directory:CacheSize</c> says otherwise (see <see cref="AddBuiltifulRuntime"/>).</summary>
    public const int DirectoryCacheSize = 100_000;

    /// <summary>
    /// Grain storage and reminders: PostgreSQL when <c>ConnectionStrings:Builtiful</c> is set (state always sealed with
    /// AES-256-GCM), otherwise in memory, the embedded default; the grain directory cache's bound.
    /// </summary>
    public static ISiloBuilder AddBuiltifulRuntime(this ISiloBuilder silo, IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(silo);
        silo.AddIncomingGrainCallFilter<FailedCallDeactivation>();
        silo.AddStartupTask((services, _) => services.GetRequiredService<IGrainFactory>().Reference<IDeliveryRecoveryGrain>(0).Start());
        silo.AddStartupTask((services, _) => services.GetRequiredService<IGrainFactory>()
            .Reference<IReconcilerGrain>(services.GetRequiredService<IComputeProvider>().Name).Start());
        silo.AddStartupTask((services, cancellationToken) => Pools.PoolStartup.StartAll(services, cancellationToken));
        var checkPeriod = configuration.GetSection(LeaseOptions.Section).Get<LeaseOptions>()?.CheckPeriod ?? new LeaseOptions().CheckPeriod;
        var sweepPeriod = configuration.GetSection(ReconcilerOptions.Section).Get<ReconcilerOptions>()?.Period ?? new ReconcilerOptions().Period;
        checkPeriod = checkPeriod < sweepPeriod ? checkPeriod : sweepPeriod;
        var retentionPeriod = configuration.GetSection(Retention.RetentionOptions.Section).Get<Retention.RetentionOptions>()?.SweepPeriod ?? new Retention.RetentionOptions().SweepPeriod;
        checkPeriod = checkPeriod < retentionPeriod || retentionPeriod < TimeSpan.FromSeconds(1) ? checkPeriod : retentionPeriod;
        var redeliveryPeriod = configuration.GetSection(DeliveryRecoveryOptions.Section).Get<DeliveryRecoveryOptions>()?.Period ?? new DeliveryRecoveryOptions().Period;
        checkPeriod = checkPeriod < redeliveryPeriod || redeliveryPeriod < TimeSpan.FromSeconds(1) ? checkPeriod : redeliveryPeriod;
        silo.Configure<ReminderOptions>(o =>
        {
            if (checkPeriod < o.MinimumReminderPeriod)
            {
                o.MinimumReminderPeriod = checkPeriod;
            }
        });

        // Orleans 10.4's directory cache answers its size gauge by walking every entry, and the dashboard's reader asks
        // once a second: at Orleans' default bound (1,000,000 entries, about 3.6 per completed job) a silo spends up to
        // about 230 ms of CPU a second on it, busy or idle. A silo's live leases need two entries each, so 100,000 keeps
        // every live address of up to about 40,000 leases per silo; an evicted address costs one directory lookup.
        silo.Configure<GrainDirectoryOptions>(o => o.CacheSize = DirectoryCacheSize);
        silo.Services.AddOptions<GrainDirectoryOptions>().Bind(configuration.GetSection(DirectorySection));

        var encryption = configuration.GetSection(StorageEncryptionOptions.Section);
        silo.Services.AddOptions<StorageEncryptionOptions>().Bind(encryption);
        silo.Services.AddSingleton<GrainStateCipher>();
        var encrypted = encryption.GetSection(nameof(StorageEncryptionOptions.EncryptionKeys)).GetChildren().Any();
        if (PostgresDatabase.ConnectionString(configuration) is { } connectionString)
        {
            if (!encrypted)
            {
                throw new OptionsValidationException(StorageEncryptionOptions.Section, typeof(StorageEncryptionOptions),
                    [.. GrainStateCipher.Validate(new StorageEncryptionOptions())]);
            }

            silo.Services.AddPostgresDataSource(connectionString);
            if (StorageProvider(configuration) == PostgresStorageProvider.Builtiful)
            {
                var connections = StorageConnections(configuration);
                silo.Services.TryAddSingleton(sp => new PostgresStatementBatcher(
                    connectionString, connections, sp.GetRequiredService<ILogger<PostgresStatementBatcher>>(),
                    sp.GetService<System.Diagnostics.Metrics.IMeterFactory>()));
                silo.Services.AddKeyedSingleton<IGrainStorage>(StorageNames.Grains, (sp, _) => new PostgresGrainStorage(
                    sp.GetRequiredService<PostgresStatementBatcher>(),
                    sp.GetRequiredService<IOptions<ClusterOptions>>().Value.ServiceId,
                    sp.GetRequiredService<GrainStateCipher>(),
                    sp.GetRequiredService<Orleans.Serialization.Serializer>(),
                    sp.GetRequiredService<ILogger<PostgresGrainStorage>>()));
            }
            else
            {
                // Orleans' own provider on the same table and rows, with the encryption around it: the operator's fallback.
                silo.AddAdoNetGrainStorage(SealedStorageName, o => o.Invariant = PostgresDatabase.Invariant);
                silo.Services.AddOptions<AdoNetGrainStorageOptions>(SealedStorageName).Configure<NpgsqlDataSource>((o, ds) => o.DataSource = ds);
                silo.Services.AddOptions<AdoNetGrainStorageOptions>(SealedStorageName)
                    .Configure<Orleans.Serialization.Serializer>((o, serializer) => o.GrainStorageSerializer = new OrleansGrainStorageSerializer(serializer));
                AddSealing(silo.Services);
            }

            silo.UseAdoNetReminderService(o => o.Invariant = PostgresDatabase.Invariant);
            silo.Services.AddOptions<AdoNetReminderTableOptions>().Configure<NpgsqlDataSource>((o, ds) => o.DataSource = ds);
        }
        else
        {
            // Orleans' own version-tolerant binary format, as on PostgreSQL: the [Id]s on state records are the storage contract.
            silo.Services.AddKeyedSingleton<IGrainStorage>(encrypted ? SealedStorageName : StorageNames.Grains, (sp, _) =>
                new EmbeddedGrainStorage(new OrleansGrainStorageSerializer(sp.GetRequiredService<Orleans.Serialization.Serializer>())));
            silo.UseInMemoryReminderService();
            if (encrypted)
            {
                AddSealing(silo.Services);
            }
        }

        return silo;
    }

    /// <summary>Grains' storage seals each state and hands it to the storage named <see cref="SealedStorageName"/>.</summary>
    private static void AddSealing(IServiceCollection services) =>
        services.AddKeyedSingleton<IGrainStorage>(StorageNames.Grains, (sp, _) => new EncryptedGrainStorage(
            sp.GetRequiredKeyedService<IGrainStorage>(SealedStorageName),
            sp.GetRequiredService<GrainStateCipher>(),
            sp.GetRequiredService<Orleans.Serialization.Serializer>()));

    /// <summary>The storage underneath the encryption when it is a separate layer (embedded, or Orleans' provider on PostgreSQL); grains never name it.</summary>
    public const string SealedStorageName = "builtiful-sealed";

    /// <summary>The configuration key for how many server connections Builtiful's grain storage batches its statements onto.</summary>
    public const string StorageConnectionsKey = "Storage:Connections";

    /// <summary>The most <see cref="StorageConnectionsKey"/> takes: more lanes than this only makes batches smaller.</summary>
    public const int MaxStorageConnections = 64;

    /// <summary>
    /// How many server connections (<see cref="PostgresStatementBatcher"/> lanes) a silo's grain storage uses: the
    /// configured number, or one per core and at least two. A value that is not a whole number from 1 to
    /// <see cref="MaxStorageConnections"/> stops the silo and says so.
    /// </summary>
    public static int StorageConnections(IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        var given = configuration[StorageConnectionsKey];
        if (string.IsNullOrWhiteSpace(given))
        {
            return Math.Max(2, Environment.ProcessorCount);
        }

        return int.TryParse(given.Trim(), System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var connections)
            && connections is >= 1 and <= MaxStorageConnections
            ? connections
            : throw new OptionsValidationException(StorageConnectionsKey, typeof(int),
                [$"{StorageConnectionsKey} '{given}' is not a number of server connections: give a whole number from 1 to {MaxStorageConnections}"]);
    }

    /// <summary>The configuration key that picks the grain storage on PostgreSQL (<see cref="PostgresStorageProvider"/>).</summary>
    public const string StorageProviderKey = "Storage:Provider";

    /// <summary>Which grain storage a PostgreSQL cluster uses; an unknown name stops the silo with the names it accepts.</summary>
    public static PostgresStorageProvider StorageProvider(IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        var given = configuration[StorageProviderKey];
        if (string.IsNullOrWhiteSpace(given))
        {
            return PostgresStorageProvider.Builtiful;
        }

        // By name only: Enum.TryParse would also take numbers, defined or not.
        return Enum.GetNames<PostgresStorageProvider>().FirstOrDefault(n => n.Equals(given.Trim(), StringComparison.OrdinalIgnoreCase)) is { } name
            ? Enum.Parse<PostgresStorageProvider>(name)
            : throw new OptionsValidationException(StorageProviderKey, typeof(PostgresStorageProvider),
                [$"{StorageProviderKey} '{given}' is not a grain storage: use {string.Join(" or ", Enum.GetNames<PostgresStorageProvider>())}"]);
    }

    /// <summary>
    /// The silo: PostgreSQL clustering when a database is configured, localhost clustering otherwise, on configurable
    /// ports; storage and reminders; TLS between members; the dashboard's grains. Providers are the caller's choice.
    /// </summary>
    public static IHostApplicationBuilder AddBuiltifulSilo(this IHostApplicationBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.Services.AddBuiltifulGrainServices(builder.Configuration);
        builder.UseOrleans(silo =>
        {
            var siloPort = builder.Configuration.GetValue("Orleans:SiloPort", EndpointOptions.DEFAULT_SILO_PORT);
            var gatewayPort = builder.Configuration.GetValue("Orleans:GatewayPort", EndpointOptions.DEFAULT_GATEWAY_PORT);
            if (PostgresDatabase.ConnectionString(builder.Configuration) is { } connectionString)
            {
                silo.Services.AddPostgresDataSource(connectionString);
                silo.UseAdoNetClustering(o => o.Invariant = PostgresDatabase.Invariant);
                silo.Services.AddOptions<AdoNetClusteringSiloOptions>().Configure<NpgsqlDataSource>((o, ds) => o.DataSource = ds);
                silo.Configure<ClusterOptions>(o => ClusterIdentity.Apply(o, builder.Configuration));
                var advertised = System.Net.IPAddress.Parse(builder.Configuration["Orleans:AdvertisedIPAddress"] ?? "127.0.0.1");
                silo.ConfigureEndpoints(advertised, siloPort, gatewayPort, listenOnAnyHostAddress: advertised.Equals(System.Net.IPAddress.Any));
            }
            else
            {
                silo.UseLocalhostClustering(siloPort, gatewayPort, serviceId: ClusterIdentity.ServiceId, clusterId: ClusterIdentity.ClusterId(builder.Configuration));
            }

            silo.AddBuiltifulRuntime(builder.Configuration);
            silo.UseBuiltifulClusterTls(builder.Configuration);
            silo.AddDashboard();
            silo.Configure<ClusterMembershipOptions>(builder.Configuration.GetSection("Orleans:Membership"));
        });
        return builder;
    }
}
