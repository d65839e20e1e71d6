using Microsoft.Extensions.Configuration;
using Orleans.Configuration;

namespace Builtiful.Hosting;

/// <summary>The names by which silos and gateways recognise one cluster in the membership table.</summary>
public static class ClusterIdentity
{
    /// <summary>Orleans' service id: stable across deployments, so grain state and reminders outlive a cluster.</summary>
    public const string ServiceId = "builtiful";

    /// <summary>The cluster id when <c>Orleans:ClusterId</c> is unset.</summary>
    public const string DefaultClusterId = "builtiful-dev";

    public static string ClusterId(IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        return configuration["Orleans:ClusterId"] is { Length: > 0 } clusterId ? clusterId : DefaultClusterId;
    }

    public static void Apply(ClusterOptions options, IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.ClusterId = ClusterId(configuration);
        options.ServiceId = ServiceId;
    }
}
