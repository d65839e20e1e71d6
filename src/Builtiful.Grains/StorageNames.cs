namespace Builtiful;

public static class StorageNames
{
    /// <summary>The grain storage every Builtiful grain writes to.</summary>
    public const string Grains = "builtiful";
}
