using Orleans.Runtime;

namespace Builtiful;

/// <summary>
/// Grain references without Orleans' per-call type resolution. <c>IGrainFactory.GetGrain&lt;T&gt;(key)</c> works out
/// the grain interface type of <c>T</c> from its attributes and formats its name on every call (about 5 % of a silo's
/// CPU at the ingest limit, every grain-to-grain call paying it). <see cref="Reference{T}(IGrainFactory, long)"/> asks
/// Orleans once per interface type, through <c>GetGrain&lt;T&gt;</c> itself, and then builds each reference from its
/// <see cref="GrainId"/> and the interface type it learned, both through Orleans' public API. The reference is the
/// one <c>GetGrain&lt;T&gt;(key)</c> returns: same grain id, same interface type (<c>GrainReferencesTests</c>).
/// </summary>
/// <remarks>
/// What is learned is the grain type and interface type Orleans derives from the interface and its implementing class,
/// which are fixed at compile time, so one cache serves every silo and client in the process.
/// </remarks>
public static class GrainReferences
{
    public static T Reference<T>(this IGrainFactory grains, long key) where T : IGrainWithIntegerKey
    {
        ArgumentNullException.ThrowIfNull(grains);
        return Known<T>.Types is { } types
            ? Create<T>(grains, types, GrainIdKeyExtensions.CreateIntegerKey(key))
            : Learn(grains.GetGrain<T>(key));
    }

    public static T Reference<T>(this IGrainFactory grains, Guid key) where T : IGrainWithGuidKey
    {
        ArgumentNullException.ThrowIfNull(grains);
        return Known<T>.Types is { } types
            ? Create<T>(grains, types, GrainIdKeyExtensions.CreateGuidKey(key))
            : Learn(grains.GetGrain<T>(key));
    }

    public static T Reference<T>(this IGrainFactory grains, string key) where T : IGrainWithStringKey
    {
        ArgumentNullException.ThrowIfNull(grains);
        ArgumentNullException.ThrowIfNull(key);
        return Known<T>.Types is { } types
            ? Create<T>(grains, types, IdSpan.Create(key))
            : Learn(grains.GetGrain<T>(key));
    }

    private static T Create<T>(IGrainFactory grains, GrainTypes types, IdSpan key) =>
        (T)grains.GetGrain(GrainId.Create(types.Grain, key), types.Interface);

    /// <summary>The first reference of an interface comes from Orleans itself and teaches the types of every later one.</summary>
    private static T Learn<T>(T first)
    {
        var reference = (GrainReference)(object)first!;
        Known<T>.Types = new GrainTypes(reference.GrainId.Type, reference.InterfaceType);
        return first;
    }

    private sealed record GrainTypes(GrainType Grain, GrainInterfaceType Interface);

    /// <summary>One slot per interface type, published whole (a reference); a race writes the same types twice.</summary>
    private static class Known<T>
    {
        public static GrainTypes? Types;
    }
}
