using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Configs;
using Builtiful.Jobs;
using Builtiful.Silo;
using Builtiful.Testing;
using Microsoft.Extensions.DependencyInjection;
using Orleans.Storage;

namespace Builtiful.Bench.Micro;

/// <summary>
/// Issue 3, item 6: one job record written and read through the silo's own grain storage on PostgreSQL, with and
/// without encryption. Both go through the same Orleans ADO.NET provider, pool and table; "plain" is the provider
/// underneath the encryption (<see cref="BuiltifulServices.SealedStorageName"/>) given the job state directly,
/// "encrypted" is the storage grains use (<see cref="StorageNames.Grains"/>), which seals the state first.
/// </summary>
[MemoryDiagnoser]
[GroupBenchmarksBy(BenchmarkLogicalGroupRule.ByCategory)]
[CategoriesColumn]
public class PostgresGrainStorageBenchmarks
{
    private const string StateName = "job";
    private static BuiltifulInstance? s_host;
    private IGrainStorage _plain = null!;
    private IGrainStorage _encrypted = null!;
    // Distinct keys: the ADO.NET provider keys a row by state name and grain key, not by grain type.
    private readonly GrainId _plainId = GrainId.Create("job", "4242424201");
    private readonly GrainId _encryptedId = GrainId.Create("job", "4242424202");
    private GrainState<JobState> _plainWrite = null!;
    private GrainState<JobState> _encryptedWrite = null!;

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
        }));
        _plain = s_host.App.Services.GetRequiredKeyedService<IGrainStorage>(BuiltifulServices.SealedStorageName);
        _encrypted = s_host.App.Services.GetRequiredKeyedService<IGrainStorage>(StorageNames.Grains);
        // BenchmarkDotNet sets up once per benchmark: read first, so a record an earlier setup wrote is updated at its version.
        _plainWrite = new GrainState<JobState>(new JobState());
        _encryptedWrite = new GrainState<JobState>(new JobState());
        await _plain.ReadStateAsync(StateName, _plainId, _plainWrite);
        await _encrypted.ReadStateAsync(StateName, _encryptedId, _encryptedWrite);
        _plainWrite.State = GrainStateCipherBenchmarks.SampleJob();
        _encryptedWrite.State = GrainStateCipherBenchmarks.SampleJob();
        await WritePlainAsync();
        await WriteEncryptedAsync();
        var check = new GrainState<JobState>(new JobState());
        await _encrypted.ReadStateAsync(StateName, _encryptedId, check);
        if (check.State?.HeadSha != _encryptedWrite.State?.HeadSha)
        {
            throw new InvalidOperationException("The encrypted job record does not round-trip through PostgreSQL.");
        }
    }

    [Benchmark(Baseline = true, Description = "PostgreSQL write (plain)")]
    [BenchmarkCategory("write")]
    public void WritePlain() => WritePlainAsync().GetAwaiter().GetResult();

    [Benchmark(Description = "PostgreSQL write (encrypted)")]
    [BenchmarkCategory("write")]
    public void WriteEncrypted() => WriteEncryptedAsync().GetAwaiter().GetResult();

    [Benchmark(Baseline = true, Description = "PostgreSQL read (plain)")]
    [BenchmarkCategory("read")]
    public void ReadPlain() => _plain.ReadStateAsync(StateName, _plainId, new GrainState<JobState>(new JobState())).GetAwaiter().GetResult();

    [Benchmark(Description = "PostgreSQL read (encrypted)")]
    [BenchmarkCategory("read")]
    public void ReadEncrypted() => _encrypted.ReadStateAsync(StateName, _encryptedId, new GrainState<JobState>(new JobState())).GetAwaiter().GetResult();

    private Task WritePlainAsync() => _plain.WriteStateAsync(StateName, _plainId, _plainWrite);

    private Task WriteEncryptedAsync() => _encrypted.WriteStateAsync(StateName, _encryptedId, _encryptedWrite);
}
