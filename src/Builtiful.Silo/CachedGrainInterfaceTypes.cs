using System.Collections.Concurrent;
using Orleans.Metadata;
using Orleans.Serialization.TypeSystem;

namespace Builtiful.Silo;

/// <summary>
/// Remembers each grain interface's <see cref="GrainInterfaceType"/>. Orleans' <see cref="GrainInterfaceTypeResolver"/>
/// asks its providers on every <c>GetGrain&lt;T&gt;(key)</c>: the attribute provider instantiates every attribute of
/// the interface (<c>Type.GetCustomAttributes</c>) and, when none names the type, the resolver formats the type's name by
/// convention, so each grain-to-grain reference cost reflection and a few strings. The answer never changes for a
/// type, so this provider, registered as the only one, asks Orleans' own providers and conventions once per type
/// (through a resolver of its own over them) and then answers from a dictionary.
/// </summary>
public sealed class CachedGrainInterfaceTypes : IGrainInterfaceTypeProvider
{
    private readonly ConcurrentDictionary<Type, GrainInterfaceType> _known = new();
    private readonly GrainInterfaceTypeResolver _resolver;

    public CachedGrainInterfaceTypes(IEnumerable<IGrainInterfaceTypeProvider> providers, TypeConverter typeConverter) =>
        _resolver = new GrainInterfaceTypeResolver(providers, typeConverter);

    public bool TryGetGrainInterfaceType(Type type, out GrainInterfaceType grainInterfaceType)
    {
        ArgumentNullException.ThrowIfNull(type);
        if (!_known.TryGetValue(type, out grainInterfaceType))
        {
            // Orleans' resolver checks that the type is an interface before it asks any provider; its own answer
            // includes generic parameters, which the outer resolver leaves alone because they are already constructed.
            grainInterfaceType = _known.GetOrAdd(type, _resolver.GetGrainInterfaceType(type));
        }

        return true;
    }
}

public static class CachedGrainInterfaceTypesExtensions
{
    /// <summary>
    /// Puts <see cref="CachedGrainInterfaceTypes"/> in front of the grain interface type providers registered so far,
    /// which it then consults once per type. Call it after Orleans' own services are registered (inside <c>UseOrleans</c>
    /// or <c>UseOrleansClient</c>); a provider registered later would never be asked, since this one answers for every
    /// interface.
    /// </summary>
    public static IServiceCollection CacheGrainInterfaceTypes(this IServiceCollection services)
    {
        ArgumentNullException.ThrowIfNull(services);
        if (services.Any(d => d.ServiceType == typeof(CachedGrainInterfaceTypes)))
        {
            return services;
        }

        var inner = services.Where(d => d.ServiceType == typeof(IGrainInterfaceTypeProvider) && !d.IsKeyedService).ToList();
        foreach (var descriptor in inner)
        {
            services.Remove(descriptor);
        }

        services.AddSingleton(sp => new CachedGrainInterfaceTypes(
            [.. inner.Select(d => (IGrainInterfaceTypeProvider)Create(sp, d))],
            sp.GetRequiredService<TypeConverter>()));
        services.AddSingleton<IGrainInterfaceTypeProvider>(sp => sp.GetRequiredService<CachedGrainInterfaceTypes>());
        return services;
    }

    private static object Create(IServiceProvider services, ServiceDescriptor descriptor) =>
        descriptor.ImplementationInstance
        ?? descriptor.ImplementationFactory?.Invoke(services)
        ?? ActivatorUtilities.CreateInstance(services, descriptor.ImplementationType!);
}
