using Builtiful.Compute.Ec2.Api;
using Builtiful.Compute.Ec2.Options;
using Builtiful.Providers;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace Builtiful.Compute.Ec2;

public static class Ec2ServiceCollectionExtensions
{
    /// <summary>
    /// EC2 as the compute provider, configured from <c>Compute:Ec2</c> and validated at start-up. Register an
    /// <see cref="Ec2Transport"/> first to send requests through another HTTP stack or credentials (tests, emulators).
    /// </summary>
    public static IServiceCollection AddEc2Compute(this IServiceCollection services, IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        services.AddOptions<Ec2Options>().Bind(configuration.GetSection(Ec2Options.Section)).ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<Ec2Options>, Ec2OptionsValidator>());
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<Ec2Options>, Ec2OptionsCrossFieldValidator>());
        services.TryAddKeyedSingleton(BuiltifulClock.Key, TimeProvider.System);
        services.TryAddSingleton(new Ec2Transport());
        services.TryAddSingleton<Ec2RateLimits>();
        // A cluster registers its grain-held budget (before or after this); alone, the process keeps its own.
        services.TryAddSingleton<ILaunchBudget, LocalLaunchBudget>();
        services.TryAddSingleton<Ec2Targets>();
        services.TryAddSingleton<Ec2ComputeProvider>();
        services.AddSingleton<IComputeProvider>(sp => sp.GetRequiredService<Ec2ComputeProvider>());
        return services;
    }
}
