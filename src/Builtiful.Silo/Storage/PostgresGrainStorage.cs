using System.Buffers;
using System.Collections.Concurrent;
using System.Globalization;
using System.Text;
using Npgsql;
using NpgsqlTypes;
using Orleans.Serialization;
using Orleans.Storage;

namespace Builtiful.Silo.Storage;

/// <summary>
/// Grain state on PostgreSQL, sealed: each state is serialized with Orleans' version-tolerant serializer, sealed to
/// its grain and state name by <see cref="GrainStateCipher"/>, and kept in <c>OrleansStorage</c> as the
/// <see cref="SealedState"/> record Orleans' ADO.NET provider kept there under <see cref="EncryptedGrainStorage"/>.
/// </summary>
/// <remarks>
/// <para>Same table, same row keys (service id, both hashes, the key's two numbers and its extension, the state name as
/// the type), same stored function and the same version rules, so rows either wrote are the other's: a cluster
/// upgraded in place reads every record it had, and key rotation and the migrations see no difference.</para>
/// <para>What it saves is the provider's per-call machinery: per operation Orleans' provider rents a connection, builds
/// its command through <c>IDbCommand</c> extension methods (a boxed value and a type lookup per parameter, nine on a
/// write), lets Npgsql rewrite the named parameters into positional ones, reads its answer through a delegate and a
/// list, and its storage wraps a state that <see cref="EncryptedGrainStorage"/> has already serialized in a second
/// <c>GrainState</c>. Here the statements are fixed and positional, the parameters typed, the type hash computed once
/// per state name, and the statement goes to the <see cref="PostgresStatementBatcher"/>, which sends it with the other
/// grains' statements waiting at the time in one round trip.</para>
/// <para>Optimistic concurrency: a write or clear names the version it read (its ETag); a stale one changes no row and
/// throws <see cref="InconsistentStateException"/>, so a stale duplicate activation cannot overwrite its successor. A
/// first write (no ETag) inserts, and loses to a row already there. A clear keeps the row and its version, with no
/// payload, so a later write is still guarded.</para>
/// </remarks>
public sealed partial class PostgresGrainStorage(
    PostgresStatementBatcher batcher, string serviceId, GrainStateCipher cipher, Serializer serializer, ILogger<PostgresGrainStorage> logger) : IGrainStorage
{
    // The unique index leads with the two hashes, so every statement names them first.
    private const string KeyPredicate =
        "GrainIdHash = $1 AND GrainTypeHash = $2 AND ServiceId = $3 AND GrainIdN0 = $4 AND GrainIdN1 = $5 " +
        "AND GrainTypeString = $6 AND GrainIdExtensionString IS NOT DISTINCT FROM $7";

    private const string ReadSql = "SELECT PayloadBinary, Version FROM OrleansStorage WHERE " + KeyPredicate;

    // orleans_storage_write(service id, type hash, type, id hash, n0, n1, extension, expected version, payload).
    private const string WriteSql = "SELECT orleans_storage_write($3, $2, $6, $1, $4, $5, $7, $8, $9)";

    private const string ClearSql =
        "UPDATE OrleansStorage SET PayloadBinary = NULL, ModifiedOn = now(), Version = Version + 1 WHERE " + KeyPredicate +
        " AND Version = $8 RETURNING Version";

    private readonly ConcurrentDictionary<string, int> _typeHashes = new(StringComparer.Ordinal);

    public async Task ReadStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState)
    {
        ArgumentNullException.ThrowIfNull(grainState);
        var (payload, version) = await ReadRowAsync(Key(stateName, grainId), grainId);
        grainState.ETag = version?.ToString(CultureInfo.InvariantCulture);
        grainState.RecordExists = payload is not null;
        if (payload is not null && serializer.Deserialize<SealedState>(payload) is { Record.Length: > 0 } sealedState)
        {
            grainState.State = EncryptedGrainStorage.OpenState<T>(serializer, cipher, sealedState.Record, stateName, grainId);
        }
    }

    public async Task WriteStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState)
    {
        ArgumentNullException.ThrowIfNull(grainState);
        var key = Key(stateName, grainId);
        var expected = Version(grainState.ETag);
        var record = EncryptedGrainStorage.SealState(serializer, cipher, grainState.State, stateName, grainId);
        var payload = serializer.SerializeToArray(new SealedState { Record = record });
        var stored = await StoreAsync("write", WriteSql, key, expected, payload, grainId);
        grainState.ETag = Moved("write", stateName, grainId, expected, stored);
        grainState.RecordExists = true;
    }

    public async Task ClearStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState)
    {
        ArgumentNullException.ThrowIfNull(grainState);
        var key = Key(stateName, grainId);
        if (!grainState.RecordExists && string.IsNullOrWhiteSpace(grainState.ETag))
        {
            // Nothing read yet: what is there, if anything, is what the clear must name.
            var (payload, version) = await ReadRowAsync(key, grainId);
            if (payload is null)
            {
                return;
            }

            grainState.ETag = version?.ToString(CultureInfo.InvariantCulture);
        }

        var expected = Version(grainState.ETag);
        var stored = await StoreAsync("clear", ClearSql, key, expected, null, grainId);
        grainState.ETag = Moved("clear", stateName, grainId, expected, stored);
        grainState.RecordExists = false;
    }

    /// <summary>Runs a write or clear at the version the caller read; the row's new version, or null when no row changed.</summary>
    private async Task<int?> StoreAsync(string operation, string sql, RowKey key, int? expected, byte[]? payload, GrainId grainId)
    {
        try
        {
            var command = Command(sql, key);
            command.Parameters.Add(VersionParameter(expected));
            if (payload is not null)
            {
                command.Parameters.Add(new NpgsqlParameter<byte[]> { TypedValue = payload, NpgsqlDbType = NpgsqlDbType.Bytea });
            }

            return (await batcher.RunAsync(command)).Version;
        }
        catch (Exception e)
        {
            LogFailed(logger, e, operation, key.Type, grainId);
            throw;
        }
    }

    /// <summary>The row's payload (null when never stored or cleared) and version (null when never stored).</summary>
    private async Task<(byte[]? Payload, int? Version)> ReadRowAsync(RowKey key, GrainId grainId)
    {
        try
        {
            var row = await batcher.RunAsync(Command(ReadSql, key));
            return (row.Payload, row.Version);
        }
        catch (Exception e)
        {
            LogFailed(logger, e, "read", key.Type, grainId);
            throw;
        }
    }

    /// <summary>A row's key as Orleans' ADO.NET provider computes it, so both find the same row.</summary>
    internal RowKey Key(string stateName, GrainId grainId)
    {
        ArgumentException.ThrowIfNullOrEmpty(stateName);
        var typeHash = _typeHashes.GetOrAdd(stateName, TypeHash);
        if (grainId.TryGetGuidKey(out var guid, out var extension))
        {
            Span<byte> bytes = stackalloc byte[16];
            guid.TryWriteBytes(bytes);
            return new RowKey(IdHash(bytes, extension), typeHash, BitConverter.ToInt64(bytes), BitConverter.ToInt64(bytes[8..]), stateName, extension);
        }

        if (grainId.TryGetIntegerKey(out var number, out extension))
        {
            Span<byte> bytes = stackalloc byte[sizeof(long)];
            BitConverter.TryWriteBytes(bytes, number);
            return new RowKey(IdHash(bytes, extension), typeHash, 0, number, stateName, extension);
        }

        var text = grainId.Key.ToString();
        return new RowKey(IdHash([], text), typeHash, 0, 0, stateName, text);
    }

    /// <summary>The state name's hash, checked and computed once per name.</summary>
    private static int TypeHash(string stateName) => stateName.Contains('`', StringComparison.Ordinal)
        // Orleans' provider rewrites generic type names before using them; a state name never is one.
        ? throw new ArgumentException($"'{stateName}' is not a state name: state names hold no generic arity marker.", nameof(stateName))
        : (int)StableHash.ComputeHash(Encoding.UTF8.GetBytes(stateName));

    /// <summary>
    /// The provider's grain id hash: the key's bytes (a number's or a GUID's little-endian bytes, then the extension's
    /// UTF-8; or a string key's UTF-8), reversed on a little-endian machine, hashed with Orleans' stable hash.
    /// </summary>
    private static int IdHash(ReadOnlySpan<byte> keyBytes, string? extension)
    {
        var length = keyBytes.Length + (extension is null ? 0 : Encoding.UTF8.GetByteCount(extension));
        byte[]? rented = null;
        var bytes = length <= 256 ? stackalloc byte[length] : (rented = ArrayPool<byte>.Shared.Rent(length)).AsSpan(0, length);
        keyBytes.CopyTo(bytes);
        if (extension is not null)
        {
            Encoding.UTF8.GetBytes(extension, bytes[keyBytes.Length..]);
        }

        if (BitConverter.IsLittleEndian)
        {
            bytes.Reverse();
        }

        var hash = (int)StableHash.ComputeHash(bytes);
        if (rented is not null)
        {
            ArrayPool<byte>.Shared.Return(rented);
        }

        return hash;
    }

    private NpgsqlBatchCommand Command(string sql, RowKey key)
    {
        var command = new NpgsqlBatchCommand(sql);
        var parameters = command.Parameters;
        parameters.Add(new NpgsqlParameter<int> { TypedValue = key.IdHash });
        parameters.Add(new NpgsqlParameter<int> { TypedValue = key.TypeHash });
        parameters.Add(new NpgsqlParameter<string> { TypedValue = serviceId, NpgsqlDbType = NpgsqlDbType.Text });
        parameters.Add(new NpgsqlParameter<long> { TypedValue = key.N0 });
        parameters.Add(new NpgsqlParameter<long> { TypedValue = key.N1 });
        parameters.Add(new NpgsqlParameter<string> { TypedValue = key.Type, NpgsqlDbType = NpgsqlDbType.Text });
        parameters.Add(key.Extension is null
            ? new NpgsqlParameter { Value = DBNull.Value, NpgsqlDbType = NpgsqlDbType.Text }
            : new NpgsqlParameter<string> { TypedValue = key.Extension, NpgsqlDbType = NpgsqlDbType.Text });
        return command;
    }

    private static NpgsqlParameter VersionParameter(int? version) => version is { } known
        ? new NpgsqlParameter<int> { TypedValue = known }
        : new NpgsqlParameter { Value = DBNull.Value, NpgsqlDbType = NpgsqlDbType.Integer };

    private static int? Version(string? etag) =>
        string.IsNullOrWhiteSpace(etag) ? null : int.Parse(etag, NumberStyles.None, CultureInfo.InvariantCulture);

    /// <summary>The new ETag, or the refusal: no row changed (the caller's version is stale, or a first write lost).</summary>
    private string Moved(string operation, string stateName, GrainId grainId, int? expected, int? stored)
    {
        if (stored is not { } version || version == expected)
        {
            var read = expected?.ToString(CultureInfo.InvariantCulture) ?? "(none)";
            throw new InconsistentStateException(
                $"Refused to {operation} state '{stateName}' of {grainId} (service {serviceId}): the stored version is not the one the caller read ({read}).",
                null, expected?.ToString(CultureInfo.InvariantCulture));
        }

        return version.ToString(CultureInfo.InvariantCulture);
    }

    [LoggerMessage(Level = LogLevel.Error, Message = "Grain storage could not {Operation} state '{StateName}' of {GrainId} on PostgreSQL")]
    private static partial void LogFailed(ILogger logger, Exception exception, string operation, string stateName, GrainId grainId);

    /// <summary>Where a state's row is, in the columns of <c>OrleansStorage</c>'s unique index.</summary>
    internal readonly record struct RowKey(int IdHash, int TypeHash, long N0, long N1, string Type, string? Extension);
}
