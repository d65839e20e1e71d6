using Builtiful.Silo;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Orleans.Configuration;

namespace Builtiful.Grains.Tests;

/// <summary>
/// The grain directory cache is bounded at 100,000 entries unless configured: Orleans 10.4 counts it for its size gauge
/// by walking every entry once a second, so its bound is a bound on that background CPU (docs/performance.md).
/// </summary>
public sealed class DirectoryCacheTests(LifecycleCluster world, DirectoryCacheTests.ConfiguredCluster configured)
    : IClassFixture<LifecycleCluster>, IClassFixture<DirectoryCacheTests.ConfiguredCluster>
{
    private static int CacheSize(LifecycleCluster cluster) =>
        cluster.Cluster.Silos[0].ServiceProvider.GetRequiredService<IOptions<GrainDirectoryOptions>>().Value.CacheSize;

    [Fact]
    public void The_silo_bounds_its_directory_cache_and_the_operator_can_change_the_bound()
    {
        Assert.Equal(BuiltifulServices.DirectoryCacheSize, CacheSize(world));
        Assert.NotEqual(new GrainDirectoryOptions().CacheSize, CacheSize(world));
        Assert.Equal(5_000, CacheSize(configured));
    }

    public sealed class ConfiguredCluster : LifecycleCluster
    {
        protected override IReadOnlyDictionary<string, string?> Settings { get; } =
            new Dictionary<string, string?> { [$"{BuiltifulServices.DirectorySection}:CacheSize"] = "5000" };
    }
}
