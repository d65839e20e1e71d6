using System.Buffers.Binary;
using System.Collections.Frozen;
using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.Options;

namespace Builtiful.Silo.Storage;

/// <summary>
/// Seals grain state with AES-256-GCM. A sealed record is
/// <c>version(1) | key id length(1) | key id | identity length(2) | identity | nonce(12) | tag(16) | ciphertext</c>.
/// The identity (grain id and state name) is authenticated data, so a record copied onto another grain's row,
/// or edited in any byte, fails to open instead of being read as someone else's state.
/// </summary>
public sealed class GrainStateCipher
{
    public const byte FormatVersion = 1;
    private const int NonceSize = 12;
    private const int TagSize = 16;

    /// <summary>
    /// One <see cref="AesGcm"/> per thread, re-keyed only when that thread meets another key (rotation): building one
    /// per record cost about 4 µs of key schedule. Seal and Open are synchronous, so no other caller can share it.
    /// </summary>
    [ThreadStatic] private static AesGcm? t_aes;
    [ThreadStatic] private static byte[]? t_aesKey;

    private readonly FrozenDictionary<string, byte[]> _keys;
    private readonly byte[] _activeKeyIdUtf8;

    public GrainStateCipher(IOptions<StorageEncryptionOptions> options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var configured = options.Value;
        var problems = Validate(configured);
        if (problems.Count > 0)
        {
            throw new OptionsValidationException(StorageEncryptionOptions.Section, typeof(StorageEncryptionOptions), problems);
        }

        _keys = configured.EncryptionKeys.ToFrozenDictionary(k => k.Id, k => Convert.FromBase64String(k.Key), StringComparer.Ordinal);
        ActiveKeyId = configured.ActiveKeyId ?? configured.EncryptionKeys[0].Id;
        _activeKeyIdUtf8 = Encoding.UTF8.GetBytes(ActiveKeyId);
    }

    public string ActiveKeyId { get; }

    public static IReadOnlyList<string> Validate(StorageEncryptionOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var problems = new List<string>();
        if (options.EncryptionKeys.Count == 0)
        {
            problems.Add("Storage:EncryptionKeys is empty: grain state on PostgreSQL is always encrypted; configure at least one { Id, Key } with Key = 32 random bytes in base64 (for example: openssl rand -base64 32)");
            return problems;
        }

        var ids = new HashSet<string>(StringComparer.Ordinal);
        Span<byte> decoded = stackalloc byte[64];
        for (var i = 0; i < options.EncryptionKeys.Count; i++)
        {
            var key = options.EncryptionKeys[i];
            if (string.IsNullOrWhiteSpace(key.Id) || Encoding.UTF8.GetByteCount(key.Id) > byte.MaxValue)
            {
                problems.Add($"Storage:EncryptionKeys:{i}:Id must be 1 to 255 bytes");
            }
            else if (!ids.Add(key.Id))
            {
                problems.Add($"Storage:EncryptionKeys names key id '{key.Id}' twice");
            }

            if (!Convert.TryFromBase64String(key.Key, decoded, out var length) || length != 32)
            {
                problems.Add($"Storage:EncryptionKeys:{i}:Key (id '{key.Id}') must be exactly 32 bytes in base64 for AES-256");
            }
        }

        if (options.ActiveKeyId is null && options.EncryptionKeys.Count > 1)
        {
            problems.Add("Storage:ActiveKeyId is required when more than one key is configured");
        }
        else if (options.ActiveKeyId is { } active && !ids.Contains(active))
        {
            problems.Add($"Storage:ActiveKeyId '{active}' is not among Storage:EncryptionKeys");
        }

        return problems;
    }

    public byte[] Seal(ReadOnlySpan<byte> plaintext, string identity)
    {
        var keyId = _activeKeyIdUtf8;
        var aadLength = Encoding.UTF8.GetByteCount(identity);
        var headerLength = 1 + 1 + keyId.Length + 2 + aadLength;
        var record = new byte[headerLength + NonceSize + TagSize + plaintext.Length];
        record[0] = FormatVersion;
        record[1] = (byte)keyId.Length;
        keyId.CopyTo(record.AsSpan(2));
        BinaryPrimitives.WriteUInt16BigEndian(record.AsSpan(2 + keyId.Length), checked((ushort)aadLength));
        var aad = record.AsSpan(4 + keyId.Length, aadLength);
        Encoding.UTF8.GetBytes(identity, aad);
        var nonce = record.AsSpan(headerLength, NonceSize);
        RandomNumberGenerator.Fill(nonce);
        Aes(_keys[ActiveKeyId]).Encrypt(nonce, plaintext, record.AsSpan(headerLength + NonceSize + TagSize), record.AsSpan(headerLength + NonceSize, TagSize), aad);
        return record;
    }

    /// <summary>Opens a record sealed for <paramref name="identity"/>; any mismatch throws, nothing is ever read as empty.</summary>
    public byte[] Open(ReadOnlySpan<byte> record, string identity)
    {
        var header = ReadHeader(record, identity);
        if (!_keys.TryGetValue(header.KeyId, out var key))
        {
            throw new GrainStateSealException(identity, $"it is sealed under key '{header.KeyId}', which is not among Storage:EncryptionKeys");
        }

        if (header.Identity != identity)
        {
            throw new GrainStateSealException(identity, $"the record was sealed for '{header.Identity}': it was copied from another grain's row");
        }

        var body = record[header.Length..];
        var plaintext = new byte[body.Length - NonceSize - TagSize];
        try
        {
            // The identity bytes in the header were compared with the expected identity above, and are authenticated.
            var aad = record[(header.Length - header.IdentityLength)..header.Length];
            Aes(key).Decrypt(body[..NonceSize], body[(NonceSize + TagSize)..], body.Slice(NonceSize, TagSize), plaintext, aad);
        }
        catch (AuthenticationTagMismatchException)
        {
            throw new GrainStateSealException(identity, $"authentication failed under key '{header.KeyId}': the record was altered");
        }

        return plaintext;
    }

    /// <summary>The key a record is sealed under, for rotation.</summary>
    public static (string KeyId, string Identity) Describe(ReadOnlySpan<byte> record)
    {
        var header = ReadHeader(record, "(unknown)");
        return (header.KeyId, header.Identity);
    }

    private static AesGcm Aes(byte[] key)
    {
        if (!ReferenceEquals(t_aesKey, key))
        {
            t_aes?.Dispose();
            t_aes = new AesGcm(key, TagSize);
            t_aesKey = key;
        }

        return t_aes!;
    }

    private static (string KeyId, string Identity, int Length, int IdentityLength) ReadHeader(ReadOnlySpan<byte> record, string identity)
    {
        if (record.Length < 4 || record[0] != FormatVersion)
        {
            throw new GrainStateSealException(identity, record.Length == 0
                ? "the record is empty"
                : $"format version {record[0]} is not {FormatVersion}: the record is not sealed grain state");
        }

        var keyIdLength = record[1];
        if (record.Length < 4 + keyIdLength)
        {
            throw new GrainStateSealException(identity, "the record is truncated");
        }

        var keyId = Encoding.UTF8.GetString(record.Slice(2, keyIdLength));
        var identityLength = BinaryPrimitives.ReadUInt16BigEndian(record.Slice(2 + keyIdLength, 2));
        var headerLength = 4 + keyIdLength + identityLength;
        if (record.Length < headerLength + NonceSize + TagSize)
        {
            throw new GrainStateSealException(identity, "the record is truncated");
        }

        return (keyId, Encoding.UTF8.GetString(record.Slice(4 + keyIdLength, identityLength)), headerLength, identityLength);
    }
}

/// <summary>A stored grain state that cannot be opened: loud, never silently empty.</summary>
public sealed class GrainStateSealException(string identity, string reason)
    : Exception($"Grain state '{identity}' cannot be decrypted: {reason}.")
{
    public string Identity { get; } = identity;
}
