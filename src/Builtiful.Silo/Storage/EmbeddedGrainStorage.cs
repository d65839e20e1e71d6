using System.Collections.Concurrent;
using System.Globalization;
using System.Runtime.InteropServices;
using Orleans.Storage;

namespace Builtiful.Silo.Storage;

/// <summary>
/// The embedded default's grain storage: each state kept serialized (Orleans' binary format, as on PostgreSQL) in this
/// process, with the same optimistic concurrency as a database row. A write or clear that names another version than
/// the stored one fails with <see cref="InconsistentStateException"/>, so a stale duplicate activation cannot
/// overwrite its successor's state.
/// </summary>
/// <remarks>
/// Orleans' memory storage keeps the same bytes in storage grains, so every read, write and clear was a grain call
/// (a message, a turn on the storage grain, and a deep copy of the state's bytes both ways): 17 extra calls per job.
/// Here they are a dictionary operation on the caller's turn. Without a database Builtiful runs one silo (localhost
/// clustering), so nothing needs the state to live in a grain other silos could reach; with PostgreSQL this storage is
/// not used. Like Orleans' memory storage, it accepts any write when nothing is stored.
/// </remarks>
public sealed class EmbeddedGrainStorage(IGrainStorageSerializer serializer) : IGrainStorage
{
    private readonly ConcurrentDictionary<StoreKey, StoredState> _states = new();
    private long _lastVersion;

    /// <summary>States stored, for tests and diagnostics.</summary>
    public int Count => _states.Count;

    public Task ReadStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState)
    {
        ArgumentNullException.ThrowIfNull(grainState);
        if (_states.TryGetValue(new StoreKey(stateName, grainId), out var stored))
        {
            grainState.State = serializer.Deserialize<T>(new BinaryData(stored.Data)) ?? Activator.CreateInstance<T>();
            grainState.ETag = ETag(stored.Version);
            grainState.RecordExists = true;
        }

        return Task.CompletedTask;
    }

    public Task WriteStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState)
    {
        ArgumentNullException.ThrowIfNull(grainState);
        var key = new StoreKey(stateName, grainId);
        var next = new StoredState(Bytes(serializer.Serialize(grainState.State)), Interlocked.Increment(ref _lastVersion));
        while (true)
        {
            if (_states.TryGetValue(key, out var stored))
            {
                Validate(key, stored, grainState.ETag, "write");
                if (_states.TryUpdate(key, next, stored))
                {
                    break;
                }
            }
            else if (_states.TryAdd(key, next))
            {
                break;
            }
        }

        grainState.ETag = ETag(next.Version);
        grainState.RecordExists = true;
        return Task.CompletedTask;
    }

    public Task ClearStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState)
    {
        ArgumentNullException.ThrowIfNull(grainState);
        var key = new StoreKey(stateName, grainId);
        while (_states.TryGetValue(key, out var stored))
        {
            Validate(key, stored, grainState.ETag, "clear");
            if (_states.TryRemove(new KeyValuePair<StoreKey, StoredState>(key, stored)))
            {
                break;
            }
        }

        grainState.ETag = null;
        grainState.RecordExists = false;
        return Task.CompletedTask;
    }

    private static void Validate(StoreKey key, StoredState stored, string? expected, string operation)
    {
        if (!long.TryParse(expected, NumberStyles.None, CultureInfo.InvariantCulture, out var version) || version != stored.Version)
        {
            throw new InconsistentStateException(
                $"Refused to {operation} state '{key.StateName}' of {key.GrainId}: it is at version {stored.Version}, the caller read version {expected ?? "(none)"}.",
                ETag(stored.Version), expected);
        }
    }

    private static string ETag(long version) => version.ToString(CultureInfo.InvariantCulture);

    /// <summary>The serializer's own array when it is exactly the state's bytes (it is), so nothing is copied.</summary>
    private static byte[] Bytes(BinaryData data) =>
        MemoryMarshal.TryGetArray(data.ToMemory(), out var segment) && segment.Offset == 0 && segment.Count == segment.Array!.Length
            ? segment.Array
            : data.ToArray();

    private readonly record struct StoreKey(string StateName, GrainId GrainId);

    /// <summary>
    /// A class, so that replacing it compares references: the version a writer validated is the one it replaces. The
    /// version is kept as a number and the bytes as an array, the least a stored state can cost.
    /// </summary>
    private sealed class StoredState(byte[] data, long version)
    {
        public byte[] Data { get; } = data;

        public long Version { get; } = version;
    }
}
