using Orleans.Serialization;
using Orleans.Storage;

namespace Builtiful.Silo.Storage;

/// <summary>
/// Wraps a grain storage so that every state record it holds is AES-256-GCM ciphertext bound to its grain.
/// The state is serialized with Orleans' version-tolerant serializer, sealed, and stored as a <see cref="SealedState"/>.
/// </summary>
public sealed class EncryptedGrainStorage(IGrainStorage inner, GrainStateCipher cipher, Serializer serializer) : IGrainStorage
{
    public async Task ReadStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState)
    {
        ArgumentNullException.ThrowIfNull(grainState);
        var sealedState = new GrainState<SealedState>(new SealedState());
        await inner.ReadStateAsync(stateName, grainId, sealedState);
        grainState.ETag = sealedState.ETag;
        grainState.RecordExists = sealedState.RecordExists;
        if (sealedState.RecordExists && sealedState.State is { Record.Length: > 0 } record)
        {
            grainState.State = OpenState<T>(serializer, cipher, record.Record, stateName, grainId);
        }
    }

    public async Task WriteStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState)
    {
        ArgumentNullException.ThrowIfNull(grainState);
        var sealedState = new GrainState<SealedState>(new SealedState { Record = SealState(serializer, cipher, grainState.State, stateName, grainId) })
        {
            ETag = grainState.ETag,
            RecordExists = grainState.RecordExists,
        };
        await inner.WriteStateAsync(stateName, grainId, sealedState);
        grainState.ETag = sealedState.ETag;
        grainState.RecordExists = sealedState.RecordExists;
    }

    public async Task ClearStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState)
    {
        ArgumentNullException.ThrowIfNull(grainState);
        var sealedState = new GrainState<SealedState>(new SealedState()) { ETag = grainState.ETag, RecordExists = grainState.RecordExists };
        await inner.ClearStateAsync(stateName, grainId, sealedState);
        grainState.ETag = sealedState.ETag;
        grainState.RecordExists = sealedState.RecordExists;
    }

    /// <summary>A state serialized and sealed to its grain and state name: the record a <see cref="SealedState"/> holds.</summary>
    internal static byte[] SealState<T>(Serializer serializer, GrainStateCipher cipher, T state, string stateName, GrainId grainId) =>
        cipher.Seal(serializer.SerializeToArray(state), Identity(stateName, grainId));

    /// <summary>A sealed record opened for its grain and state name (any mismatch throws) and deserialized.</summary>
    internal static T? OpenState<T>(Serializer serializer, GrainStateCipher cipher, byte[] record, string stateName, GrainId grainId) =>
        serializer.Deserialize<T>(cipher.Open(record, Identity(stateName, grainId)));

    /// <summary>The authenticated identity of a record: which grain, which state.</summary>
    public static string Identity(string stateName, GrainId grainId) => $"{grainId}/{stateName}";
}
