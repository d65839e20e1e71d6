using Builtiful.Compute.Ec2;
using Builtiful.Compute.Ec2.Options;
using Builtiful.GitHub;
using Builtiful.Hosting;
using Builtiful.Simulation;
using Builtiful.Simulation.Cloud;
using Microsoft.Extensions.Configuration.Memory;
using Microsoft.Extensions.Options;

namespace Builtiful.Embedded;

/// <summary>The embedded host's providers: simulated unless configuration asks for EC2 or a real GitHub App.</summary>
public static class EmbeddedProviders
{
    /// <summary>
    /// The embedded default, below every other source (appsettings.json, environment, arguments): a simulated cloud
    /// and a simulated GitHub (their timings are SimulationOptions' defaults).
    /// </summary>
    public static IConfigurationBuilder AddEmbeddedDefaults(this IConfigurationBuilder configuration)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        configuration.Sources.Insert(0, new MemoryConfigurationSource
        {
            InitialData = new Dictionary<string, string?>
            {
                [ProviderNames.ComputeKey] = ProviderNames.Simulated,
                [ProviderNames.GitHubModeKey] = ProviderNames.Simulated,
            },
        });
        return configuration;
    }

    /// <summary>Chooses the compute provider and the GitHub App client by <c>Compute:Provider</c> and <c>GitHub:Mode</c>.</summary>
    public static IServiceCollection AddEmbeddedProviders(this IServiceCollection services, IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        var compute = configuration[ProviderNames.ComputeKey] ?? ProviderNames.Simulated;
        switch (compute)
        {
            case ProviderNames.Simulated when configuration["Simulation:CloudUrl"] is { Length: > 0 } cloudUrl:
                // Another process owns the simulated VMs (a chaos run kills silo processes; the VMs live on).
                services.AddRemoteSimulatedCompute(new Uri(cloudUrl.TrimEnd('/') + "/"));
                break;
            case ProviderNames.Simulated:
                services.AddSimulatedCompute(configuration);
                break;
            case ProviderNames.Ec2:
                RefuseUnsafeEc2(services, configuration);
                services.AddEc2Compute(configuration);
                break;
            default:
                throw new OptionsValidationException(ProviderNames.ComputeKey, typeof(string),
                    [$"{ProviderNames.ComputeKey} is '{compute}'; choose '{ProviderNames.Simulated}' (the default) or '{ProviderNames.Ec2}'."]);
        }

        var github = configuration[ProviderNames.GitHubModeKey] ?? ProviderNames.Simulated;
        switch (github)
        {
            // The simulated GitHub is spoken to as GitHub is: the real App client, pointed at the world's REST API
            // (GitHub:ApiUrl, AppId and PrivateKey are filled in by whoever started the world, see SimulatedGitHubHost).
            case ProviderNames.Simulated:
            case ProviderNames.GitHubApp:
                services.AddGitHubApp(configuration);
                break;
            default:
                throw new OptionsValidationException(ProviderNames.GitHubModeKey, typeof(string),
                    [$"{ProviderNames.GitHubModeKey} is '{github}'; choose '{ProviderNames.Simulated}' (the default) or '{ProviderNames.GitHubApp}'."]);
        }

        return services;
    }

    /// <summary>
    /// EC2 needs a cluster name of its own and state that outlives the process (the in-memory default does not), unless
    /// the trial override is set, which is logged as a warning at start-up.
    /// </summary>
    private static void RefuseUnsafeEc2(IServiceCollection services, IConfiguration configuration)
    {
        var durable = PostgresDatabase.ConnectionString(configuration) is not null;
        var problems = Ec2HostRequirements.Problems(configuration, durable);
        if (problems.Count > 0)
        {
            throw new OptionsValidationException(Ec2Options.Section, typeof(Ec2Options), [.. problems]);
        }

        if (!durable)
        {
            services.AddHostedService<EphemeralStateWarning>();
        }
    }

    /// <summary>The simulated cloud runs in this process (not EC2, not another process's cloud), so this host signs its VMs' identity documents.</summary>
    public static bool OwnsSimulatedCloud(IConfiguration configuration) =>
        string.Equals(configuration?[ProviderNames.ComputeKey] ?? ProviderNames.Simulated, ProviderNames.Simulated, StringComparison.Ordinal)
        && string.IsNullOrEmpty(configuration?["Simulation:CloudUrl"]);

    public static bool UsesSimulatedGitHub(IConfiguration configuration) =>
        string.Equals(configuration?[ProviderNames.GitHubModeKey] ?? ProviderNames.Simulated, ProviderNames.Simulated, StringComparison.Ordinal);
}
