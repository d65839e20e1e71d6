namespace Builtiful.Silo.Storage;

/// <summary>
/// Configuration section <c>Storage</c>: AES-256 keys for grain state at rest. Keys come from configuration or
/// the environment (<c>Storage__EncryptionKeys__0__Id</c>, <c>Storage__EncryptionKeys__0__Key</c>), never from the repository.
/// </summary>
public sealed class StorageEncryptionOptions
{
    public const string Section = "Storage";

    public List<EncryptionKey> EncryptionKeys { get; set; } = [];

    /// <summary>The key new records are written under; optional when exactly one key is configured.</summary>
    public string? ActiveKeyId { get; set; }
}

public sealed class EncryptionKey
{
    public string Id { get; set; } = "";

    /// <summary>32 random bytes, base64.</summary>
    public string Key { get; set; } = "";

    public override string ToString() => $"EncryptionKey {{ Id = {Id}, Key = [redacted] }}";
}
