using System.Security.Cryptography;
using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Configs;
using Builtiful.Jobs;
using Builtiful.Silo.Storage;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Orleans.Serialization;

namespace Builtiful.Bench.Micro;

/// <summary>
/// The CPU price of encryption at rest for one job record, without the database: what
/// <see cref="EncryptedGrainStorage"/> adds around the storage provider's own serialization
/// (serialize the state, seal it with AES-256-GCM bound to the grain, wrap it in a <see cref="SealedState"/>),
/// against the plain serialization an unencrypted provider does.
/// </summary>
[MemoryDiagnoser]
[GroupBenchmarksBy(BenchmarkLogicalGroupRule.ByCategory)]
[CategoriesColumn]
public class GrainStateCipherBenchmarks
{
    private Serializer _serializer = null!;
    private GrainStateCipher _cipher = null!;
    private JobState _state = new();
    private byte[] _plainPayload = [];
    private byte[] _sealedPayload = [];
    private byte[] _sealedRecord = [];
    private string _identity = "";

    public static JobState SampleJob() => new()
    {
        Known = true,
        Status = JobStatus.InProgress,
        InstallationId = 42_424_242,
        RunId = 5_678_901_234,
        RunAttempt = 1,
        Repository = "octo-org/octo-repo",
        Branch = "main",
        HeadSha = "3484a3fb816e0859fd6e1cea078d76385ff50625",
        WorkflowName = "CI",
        JobName = "build (ubuntu-24.04)",
        Labels = ["builtiful-2vcpu-ubuntu-2404"],
        MachineType = "builtiful-2vcpu-ubuntu-2404",
        QueuedAt = DateTimeOffset.UtcNow.AddSeconds(-12),
        StartedAt = DateTimeOffset.UtcNow,
        LeaseId = Guid.NewGuid(),
        RunnerRequested = true,
    };

    public static GrainStateCipher NewCipher() => new(Options.Create(new StorageEncryptionOptions
    {
        EncryptionKeys = [new EncryptionKey { Id = "bench", Key = Convert.ToBase64String(RandomNumberGenerator.GetBytes(32)) }],
    }));

    [GlobalSetup]
    public void Setup()
    {
        _serializer = new ServiceCollection().AddSerializer().BuildServiceProvider().GetRequiredService<Serializer>();
        _cipher = NewCipher();
        _state = SampleJob();
        _identity = EncryptedGrainStorage.Identity("job", GrainId.Create("job", "4242424242"));
        _plainPayload = _serializer.SerializeToArray(_state);
        _sealedRecord = _cipher.Seal(_plainPayload, _identity);
        _sealedPayload = _serializer.SerializeToArray(new SealedState { Record = _sealedRecord });
        if (OpenAndDeserialize() is not { } opened || opened.HeadSha != _state.HeadSha || opened.LeaseId != _state.LeaseId)
        {
            throw new InvalidOperationException("The sealed job record does not round-trip.");
        }
    }

    /// <summary>--quick: the four cases the encryption ratios are taken from; the AES-GCM-only rows are in the full run.</summary>
    public static bool IsRatioCase(string method) => method is not (nameof(Seal) or nameof(Open));

    [Benchmark(Baseline = true, Description = "write: serialize (plain)")]
    [BenchmarkCategory("write")]
    public byte[] Serialize() => _serializer.SerializeToArray(_state);

    [Benchmark(Description = "write: serialize + seal + wrap (encrypted)")]
    [BenchmarkCategory("write")]
    public byte[] SerializeAndSeal() =>
        _serializer.SerializeToArray(new SealedState { Record = _cipher.Seal(_serializer.SerializeToArray(_state), _identity) });

    [Benchmark(Description = "write: AES-GCM seal only")]
    [BenchmarkCategory("write")]
    public byte[] Seal() => _cipher.Seal(_plainPayload, _identity);

    [Benchmark(Baseline = true, Description = "read: deserialize (plain)")]
    [BenchmarkCategory("read")]
    public JobState? Deserialize() => _serializer.Deserialize<JobState>(_plainPayload);

    [Benchmark(Description = "read: unwrap + open + deserialize (encrypted)")]
    [BenchmarkCategory("read")]
    public JobState? OpenAndDeserialize() =>
        _serializer.Deserialize<JobState>(_cipher.Open(_serializer.Deserialize<SealedState>(_sealedPayload)!.Record, _identity));

    [Benchmark(Description = "read: AES-GCM open only")]
    [BenchmarkCategory("read")]
    public byte[] Open() => _cipher.Open(_sealedRecord, _identity);
}
