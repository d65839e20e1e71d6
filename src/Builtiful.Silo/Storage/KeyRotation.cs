using Npgsql;
using Orleans.Serialization;

namespace Builtiful.Silo.Storage;

/// <summary>
/// Re-seals every grain state record that is not under the active key. Runs beside a live cluster: a row is only
/// replaced at the version it was read at, so a grain that wrote meanwhile (already under the active key) wins.
/// </summary>
public sealed partial class KeyRotation(NpgsqlDataSource database, GrainStateCipher cipher, Serializer serializer, ILogger<KeyRotation> logger)
{
    private const int BatchSize = 500;

    public async Task<KeyRotationReport> RotateAsync(CancellationToken cancellationToken)
    {
        int examined = 0, resealed = 0, raced = 0;
        long after = 0;
        while (true)
        {
            var batch = new List<StoredRow>(BatchSize);
            await using (var read = database.CreateCommand(
                "SELECT ServiceId, GrainTypeHash, GrainTypeString, GrainIdHash, GrainIdN0, GrainIdN1, GrainIdExtensionString, PayloadBinary, Version " +
                "FROM OrleansStorage ORDER BY GrainIdHash, GrainTypeHash, GrainIdN0, GrainIdN1, GrainTypeString, ServiceId OFFSET $1 LIMIT $2"))
            {
                read.Parameters.AddWithValue(after);
                read.Parameters.AddWithValue(BatchSize);
                await using var reader = await read.ExecuteReaderAsync(cancellationToken);
                while (await reader.ReadAsync(cancellationToken))
                {
                    batch.Add(new StoredRow(
                        reader.GetString(0), reader.GetInt32(1), reader.GetString(2), reader.GetInt32(3), reader.GetInt64(4), reader.GetInt64(5),
                        reader.IsDBNull(6) ? null : reader.GetString(6), reader.IsDBNull(7) ? null : (byte[])reader[7], reader.GetInt32(8)));
                }
            }

            foreach (var row in batch)
            {
                examined++;
                if (row.Payload is not { Length: > 0 } payload)
                {
                    continue;
                }

                var sealedState = serializer.Deserialize<SealedState>(payload)
                    ?? throw new GrainStateSealException(row.GrainTypeString, "the stored payload is not a sealed record");
                var (keyId, identity) = GrainStateCipher.Describe(sealedState.Record);
                if (keyId == cipher.ActiveKeyId)
                {
                    continue;
                }

                var resealedPayload = serializer.SerializeToArray(new SealedState { Record = cipher.Seal(cipher.Open(sealedState.Record, identity), identity) });
                await using var write = database.CreateCommand(
                    "UPDATE OrleansStorage SET PayloadBinary = $1 WHERE ServiceId = $2 AND GrainTypeHash = $3 AND GrainTypeString = $4 AND GrainIdHash = $5 " +
                    "AND GrainIdN0 = $6 AND GrainIdN1 = $7 AND GrainIdExtensionString IS NOT DISTINCT FROM $8 AND Version = $9");
                write.Parameters.AddWithValue(resealedPayload);
                write.Parameters.AddWithValue(row.ServiceId);
                write.Parameters.AddWithValue(row.GrainTypeHash);
                write.Parameters.AddWithValue(row.GrainTypeString);
                write.Parameters.AddWithValue(row.GrainIdHash);
                write.Parameters.AddWithValue(row.GrainIdN0);
                write.Parameters.AddWithValue(row.GrainIdN1);
                write.Parameters.Add(new NpgsqlParameter<string?> { TypedValue = row.Extension, NpgsqlDbType = NpgsqlTypes.NpgsqlDbType.Varchar });
                write.Parameters.AddWithValue(row.Version);
                if (await write.ExecuteNonQueryAsync(cancellationToken) == 1)
                {
                    resealed++;
                }
                else
                {
                    raced++;
                }
            }

            if (batch.Count < BatchSize)
            {
                break;
            }

            after += batch.Count;
        }

        LogRotated(logger, examined, resealed, raced, cipher.ActiveKeyId);
        return new KeyRotationReport(examined, resealed, raced, cipher.ActiveKeyId);
    }

    private sealed record StoredRow(
        string ServiceId, int GrainTypeHash, string GrainTypeString, int GrainIdHash, long GrainIdN0, long GrainIdN1, string? Extension, byte[]? Payload, int Version);

    [LoggerMessage(Level = LogLevel.Information, Message = "Key rotation: {Examined} records examined, {Resealed} resealed under '{ActiveKeyId}', {Raced} rewritten by their grains meanwhile")]
    private static partial void LogRotated(ILogger logger, int examined, int resealed, int raced, string activeKeyId);
}

/// <summary>What a rotation did; <see cref="Raced"/> rows were rewritten by their grains, already under the active key.</summary>
public sealed record KeyRotationReport(int Examined, int Resealed, int Raced, string ActiveKeyId);
