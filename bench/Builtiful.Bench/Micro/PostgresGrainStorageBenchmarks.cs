using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Configs;
using Builtiful.Jobs;
using Builtiful.Silo;
using Builtiful.Testing;
using Builtiful.Silo.Storage;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Npgsql;
using Orleans.Configuration;
using Orleans.Storage;

namespace Builtiful.Bench.Micro;

/// <summary>
/// One job record written and read on PostgreSQL by each grain storage a cluster can use, on the same pool and table:
/// "Orleans plain" is Orleans' ADO.NET provider given the job state directly (no encryption; the floor of issue 3,
/// item 6), "Orleans sealed" is that provider under <see cref="EncryptedGrainStorage"/> (<c>Storage:Provider=Orleans</c>),
/// and "Builtiful" is <see cref="PostgresGrainStorage"/>, the default, which seals the same record.
/// </summary>
[MemoryDiagnoser]
[GroupBenchmarksBy(BenchmarkLogicalGroupRule.ByCategory)]
[CategoriesColumn]
public class PostgresGrainStorageBenchmarks
{
    private const string StateName = "job";
    private static BuiltifulInstance? s_host;
    private static PostgresStatementBatcher? s_batcher;
    private IGrainStorage _plain = null!;
    private IGrainStorage _encrypted = null!;
    private PostgresGrainStorage _builtiful = null!;
    // Distinct keys: a row is keyed by state name and grain key, not by grain type.
    private readonly GrainId _plainId = GrainId.Create("job", "4242424201");
    private readonly GrainId _encryptedId = GrainId.Create("job", "4242424202");
    private readonly GrainId _builtifulId = GrainId.Create("job", "4242424203");
    private GrainState<JobState> _plainWrite = null!;
    private GrainState<JobState> _encryptedWrite = null!;
    private GrainState<JobState> _builtifulWrite = null!;

    // One key for every setup: BenchmarkDotNet starts a host per benchmark, and each must open the others' records.
    private static readonly string Key = Convert.ToBase64String(System.Security.Cryptography.RandomNumberGenerator.GetBytes(32));

    /// <summary>A migrated, empty database; the orchestrator sets it before running this class.</summary>
    public static string? ConnectionString { get; set; }

    // Synchronous on purpose: BenchmarkDotNet 0.15's in-process emit toolchain did not run this class's Task-returning members.
    [GlobalSetup]
    public void Setup() => SetupAsync().GetAwaiter().GetResult();

    /// <summary>The host is shared by the four benchmarks (BenchmarkDotNet sets up once per benchmark); the orchestrator stops it.</summary>
    public static async Task StopHostAsync()
    {
        if (s_batcher is not null)
        {
            await s_batcher.DisposeAsync();
            s_batcher = null;
        }

        if (s_host is not null)
        {
            await s_host.KillAsync();
            s_host = null;
        }
    }

    private async Task SetupAsync()
    {
        var connectionString = ConnectionString ?? throw new InvalidOperationException("No PostgreSQL database was given to the storage benchmark.");
        // In the bench process itself, whose runtime is not configured like the Silo's (and which kills it at the end):
        // only critical events are worth printing.
        s_host ??= await BuiltifulInstance.StartAsync(Scenarios.HostSettings(connectionString, new Dictionary<string, string>
        {
            ["Logging:LogLevel:Default"] = "Critical",
            ["Logging:LogLevel:Orleans"] = "Critical",
            ["Logging:LogLevel:Orleans.Runtime.Silo"] = "Critical",
            ["Logging:LogLevel:Microsoft"] = "Critical",
            ["Storage:EncryptionKeys:0:Key"] = Key,
            [BuiltifulServices.StorageProviderKey] = nameof(PostgresStorageProvider.Orleans),
        }));
        var services = s_host.App.Services;
        _plain = services.GetRequiredKeyedService<IGrainStorage>(BuiltifulServices.SealedStorageName);
        _encrypted = services.GetRequiredKeyedService<IGrainStorage>(StorageNames.Grains);
        s_batcher ??= new PostgresStatementBatcher(connectionString, 2, NullLogger<PostgresStatementBatcher>.Instance);
        _builtiful = new PostgresGrainStorage(
            s_batcher,
            services.GetRequiredService<IOptions<ClusterOptions>>().Value.ServiceId,
            services.GetRequiredService<GrainStateCipher>(),
            services.GetRequiredService<Orleans.Serialization.Serializer>(),
            NullLogger<PostgresGrainStorage>.Instance);
        // BenchmarkDotNet sets up once per benchmark: read first, so a record an earlier setup wrote is updated at its version.
        _plainWrite = new GrainState<JobState>(new JobState());
        _encryptedWrite = new GrainState<JobState>(new JobState());
        _builtifulWrite = new GrainState<JobState>(new JobState());
        await _plain.ReadStateAsync(StateName, _plainId, _plainWrite);
        await _encrypted.ReadStateAsync(StateName, _encryptedId, _encryptedWrite);
        await _builtiful.ReadStateAsync(StateName, _builtifulId, _builtifulWrite);
        _plainWrite.State = GrainStateCipherBenchmarks.SampleJob();
        _encryptedWrite.State = GrainStateCipherBenchmarks.SampleJob();
        _builtifulWrite.State = GrainStateCipherBenchmarks.SampleJob();
        await WritePlainAsync();
        await WriteEncryptedAsync();
        await WriteBuiltifulAsync();
        foreach (var (storage, id, written) in new (IGrainStorage, GrainId, GrainState<JobState>)[] { (_encrypted, _encryptedId, _encryptedWrite), (_builtiful, _builtifulId, _builtifulWrite) })
        {
            var check = new GrainState<JobState>(new JobState());
            await storage.ReadStateAsync(StateName, id, check);
            if (check.State?.HeadSha != written.State?.HeadSha)
            {
                throw new InvalidOperationException($"The sealed job record does not round-trip through PostgreSQL with {storage.GetType().Name}.");
            }
        }
    }

    [Benchmark(Baseline = true, Description = "PostgreSQL write (Orleans plain)")]
    [BenchmarkCategory("write")]
    public void WritePlain() => WritePlainAsync().GetAwaiter().GetResult();

    [Benchmark(Description = "PostgreSQL write (Orleans sealed)")]
    [BenchmarkCategory("write")]
    public void WriteEncrypted() => WriteEncryptedAsync().GetAwaiter().GetResult();

    [Benchmark(Description = "PostgreSQL write (Builtiful)")]
    [BenchmarkCategory("write")]
    public void WriteBuiltiful() => WriteBuiltifulAsync().GetAwaiter().GetResult();

    [Benchmark(Baseline = true, Description = "PostgreSQL read (Orleans plain)")]
    [BenchmarkCategory("read")]
    public void ReadPlain() => _plain.ReadStateAsync(StateName, _plainId, new GrainState<JobState>(new JobState())).GetAwaiter().GetResult();

    [Benchmark(Description = "PostgreSQL read (Orleans sealed)")]
    [BenchmarkCategory("read")]
    public void ReadEncrypted() => _encrypted.ReadStateAsync(StateName, _encryptedId, new GrainState<JobState>(new JobState())).GetAwaiter().GetResult();

    [Benchmark(Description = "PostgreSQL read (Builtiful)")]
    [BenchmarkCategory("read")]
    public void ReadBuiltiful() => _builtiful.ReadStateAsync(StateName, _builtifulId, new GrainState<JobState>(new JobState())).GetAwaiter().GetResult();

    private Task WritePlainAsync() => _plain.WriteStateAsync(StateName, _plainId, _plainWrite);

    private Task WriteEncryptedAsync() => _encrypted.WriteStateAsync(StateName, _encryptedId, _encryptedWrite);

    private Task WriteBuiltifulAsync() => _builtiful.WriteStateAsync(StateName, _builtifulId, _builtifulWrite);
}
