using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Orleans.Storage;

namespace Builtiful;

/// <summary>
/// A grain's stored record, for the grains that live once per job (job and lease, two activations per live VM): the
/// contract of Orleans' <c>[PersistentState]</c> (<see cref="IPersistentState{TState}"/>: one state and its version
/// tag, read, written and cleared through the configured <see cref="IGrainStorage"/>, a failure logged and thrown to the
/// caller), without what Orleans' facet adds to every activation and every operation. The facet joins the activation's
/// lifecycle and its migration participants and formats its own type name on every activation, and it sends every
/// read, write and clear through a queue that first yields to the scheduler: one more turn of the activation per
/// write. Here the grain reads its record itself, first thing in its <c>OnActivateAsync</c>, and an operation runs on
/// the caller's turn unless another of this record's operations is still in flight, in which case it runs after that
/// one: never two at once, so a write never races the version tag of the one before.
/// A grain that Orleans moves to another silo is deactivated first (anything it deferred is written then) and reads its
/// record again where it lands, instead of carrying it along.
/// </summary>
public sealed partial class StoredState<TState> : IPersistentState<TState>
    where TState : new()
{
    private readonly string _name;
    private readonly GrainId _grainId;
    private readonly IGrainStorage _storage;
    private readonly ILogger _logger;
    private readonly GrainState<TState> _record = new(new TState());

    /// <summary>One operation at a time: it starts on the caller's turn when none is in flight, else after the last one.</summary>
    private readonly GroupCommit _operations = new();
    private bool _loaded;

    /// <param name="name">The record's state name in the grain storage.</param>
    /// <param name="context">The activation whose record this is.</param>
    /// <param name="logger">The grain's own logger, which reports a failed operation.</param>
    public StoredState(string name, IGrainContext context, ILogger logger)
        : this(name, (context ?? throw new ArgumentNullException(nameof(context))).GrainId, context.ActivationServices.GetRequiredKeyedService<IGrainStorage>(StorageNames.Grains), logger)
    {
    }

    internal StoredState(string name, GrainId grainId, IGrainStorage storage, ILogger logger)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        ArgumentNullException.ThrowIfNull(storage);
        ArgumentNullException.ThrowIfNull(logger);
        _name = name;
        _grainId = grainId;
        _storage = storage;
        _logger = logger;
    }

    public TState State
    {
        get => _record.State!;
        set => _record.State = value;
    }

    public string? Etag
    {
        get => _record.ETag;
        set => _record.ETag = value;
    }

    public bool RecordExists => _loaded
        ? _record.RecordExists
        : throw new InvalidOperationException($"The stored record '{_name}' of {_grainId} has not been read yet.");

    public Task ReadStateAsync() => _operations.ExclusiveAsync(() => RunAsync(Operation.Read));

    public Task WriteStateAsync() => _operations.ExclusiveAsync(() => RunAsync(Operation.Write));

    public Task ClearStateAsync() => _operations.ExclusiveAsync(() => RunAsync(Operation.Clear));

    private async Task RunAsync(Operation operation)
    {
        try
        {
            switch (operation)
            {
                case Operation.Read:
                    await _storage.ReadStateAsync(_name, _grainId, _record);
                    _loaded = true;
                    break;
                case Operation.Write:
                    await _storage.WriteStateAsync(_name, _grainId, _record);
                    break;
                default:
                    await _storage.ClearStateAsync(_name, _grainId, _record);
                    break;
            }
        }
        catch (Exception ex)
        {
            LogFailed(_logger, ex, operation, _name, _grainId);
            if (ex is OrleansException)
            {
                throw;
            }

            // As Orleans' facet does: callers that tell storage failures from their own catch OrleansException.
            throw new OrleansException($"The grain storage failed to {operation.ToString().ToLowerInvariant()} the record '{_name}' of {_grainId}: {ex.Message}", ex);
        }
    }

    private enum Operation
    {
        Read,
        Write,
        Clear,
    }

    [LoggerMessage(Level = LogLevel.Error, Message = "The grain storage failed to {Operation} the record {StateName} of {GrainId}")]
    private static partial void LogFailed(ILogger logger, Exception exception, Operation operation, string stateName, GrainId grainId);
}
