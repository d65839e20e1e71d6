using System.Text;
using System.Text.Json;

namespace Builtiful.Gateway.Webhooks;

/// <summary>
/// Strings that repeat across deliveries (repository names, branches, workflow and job names, labels, conclusions),
/// materialised once and shared: a delivery allocates nothing for them after the first, and the job and lease grains
/// that keep them hold one copy between them. A fixed-size direct-mapped cache keyed by the UTF-8 bytes under the
/// process's randomised hash, so it never grows, needs no lock (slots are replaced whole), and a miss only costs the
/// string the reader would have made anyway. Values that are long, escaped or unique (SHAs, runner names) bypass it.
/// </summary>
internal static class Utf8StringCache
{
    private const int Slots = 4096;
    private const int MaxBytes = 96;

    private static readonly Entry?[] Entries = new Entry?[Slots];

    /// <summary>The current string token's value; the caller has checked the body is valid UTF-8.</summary>
    public static string Get(ref Utf8JsonReader reader)
    {
        if (reader.ValueIsEscaped || reader.HasValueSequence || reader.ValueSpan.Length > MaxBytes)
        {
            return reader.GetString()!;
        }

        var utf8 = reader.ValueSpan;
        var hash = new HashCode();
        hash.AddBytes(utf8);
        var slot = hash.ToHashCode() & (Slots - 1);
        var entry = Volatile.Read(ref Entries[slot]);
        if (entry is not null && utf8.SequenceEqual(entry.Utf8))
        {
            return entry.Value;
        }

        entry = new Entry(utf8.ToArray(), Encoding.UTF8.GetString(utf8));
        Volatile.Write(ref Entries[slot], entry);
        return entry.Value;
    }

    private sealed class Entry(byte[] utf8, string value)
    {
        public byte[] Utf8 { get; } = utf8;

        public string Value { get; } = value;
    }
}
