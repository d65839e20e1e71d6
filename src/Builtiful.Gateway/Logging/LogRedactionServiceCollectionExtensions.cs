using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;

namespace Builtiful.Gateway.Logging;

public static class LogRedactionServiceCollectionExtensions
{
    /// <summary>
    /// Puts <see cref="RedactingLoggerFactory"/> around the registered logger factory. Order-independent: providers added
    /// before or after this call are all behind it, because the wrapped factory resolves them when first used.
    /// </summary>
    public static IServiceCollection AddLogRedaction(this IServiceCollection services)
    {
        ArgumentNullException.ThrowIfNull(services);
        if (services.Any(d => d.ServiceType == typeof(RedactingLoggerFactory)))
        {
            return services;
        }

        services.AddLogging();
        var original = services.Last(d => d.ServiceType == typeof(ILoggerFactory) && !d.IsKeyedService);
        services.Replace(ServiceDescriptor.Singleton<ILoggerFactory>(sp => sp.GetRequiredService<RedactingLoggerFactory>()));
        services.AddSingleton(sp => new RedactingLoggerFactory(Create(sp, original)));
        return services;
    }

    private static ILoggerFactory Create(IServiceProvider services, ServiceDescriptor original) => original switch
    {
        { ImplementationInstance: ILoggerFactory instance } => instance,
        { ImplementationFactory: { } factory } => (ILoggerFactory)factory(services),
        { ImplementationType: { } type } => (ILoggerFactory)ActivatorUtilities.CreateInstance(services, type),
        _ => throw new InvalidOperationException("The registered ILoggerFactory cannot be wrapped for redaction."),
    };
}
