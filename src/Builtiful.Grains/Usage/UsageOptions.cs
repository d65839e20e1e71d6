namespace Builtiful.Usage;

/// <summary>Configuration section <c>Usage</c>: how an installation's hour of counted jobs is stored.</summary>
public sealed class UsageOptions
{
    public const string Section = "Usage";

    /// <summary>
    /// Counted jobs an hour shard keeps in its own state before it seals them into a page written once
    /// (<see cref="UsagePageGrain"/>). A job's write costs O(page), not O(hour); reactivating a shard reads
    /// ⌈hour's jobs / page⌉ pages.
    /// </summary>
    [SettingRange(1)]
    public int HourPageSize { get; set; } = 64;
}
