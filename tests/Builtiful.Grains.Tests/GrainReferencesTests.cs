using Builtiful.Jobs;
using Builtiful.Leases;
using Builtiful.Organisations;
using Builtiful.Usage;

namespace Builtiful.Grains.Tests;

/// <summary>
/// <see cref="GrainReferences"/> builds references from the types Orleans gave it once; every one must be the reference
/// Orleans' own <c>GetGrain</c> returns for the same key (grain id and interface type), for each key shape, on the
/// first call and on the cached ones, and calls through it must reach the same activation.
/// </summary>
public sealed class GrainReferencesTests(LifecycleCluster world) : IClassFixture<LifecycleCluster>
{
    [Fact]
    public void Integer_guid_and_string_keys_give_orleans_own_reference()
    {
        var grains = world.Client;
        foreach (var key in new long[] { 1, 0, -7, long.MaxValue, LifecycleCluster.NewJobId() })
        {
            SameAs(grains.GetGrain<IJobGrain>(key), grains.Reference<IJobGrain>(key));
            SameAs(grains.GetGrain<IOrganisationGrain>(key), grains.Reference<IOrganisationGrain>(key));
            // Another interface of the same grain class: its own interface type, the same grain id.
            SameAs(grains.GetGrain<IOrganisationOperations>(key), grains.Reference<IOrganisationOperations>(key));
        }

        foreach (var key in new[] { Guid.NewGuid(), Guid.Empty, Guid.NewGuid() })
        {
            SameAs(grains.GetGrain<IVmLeaseGrain>(key), grains.Reference<IVmLeaseGrain>(key));
        }

        foreach (var key in new[] { UsageMonth.Key(42, "2026-12"), "é/ü 🚀", "x" })
        {
            SameAs(grains.GetGrain<IUsageGrain>(key), grains.Reference<IUsageGrain>(key));
        }
    }

    [Fact]
    public async Task A_call_through_the_reference_reaches_the_grain_orleans_addresses()
    {
        var installationId = await world.InstallAsync();
        var jobId = LifecycleCluster.NewJobId();
        var leaseId = await world.QueueAsync(jobId, installationId);

        Assert.Equal(installationId, (await world.Client.Reference<IJobGrain>(jobId).GetView())!.InstallationId);
        Assert.Equal(jobId, (await world.Client.Reference<IVmLeaseGrain>(leaseId).GetView())!.LaunchedForJobId);
        Assert.Contains(leaseId, (await world.Client.Reference<IOrganisationGrain>(installationId).GetView()).LeaseIds);
    }

    [Fact]
    public void A_missing_string_key_or_factory_is_refused_on_the_first_call_and_the_cached_ones()
    {
        for (var call = 0; call < 2; call++)
        {
            Assert.Throws<ArgumentNullException>(() => world.Client.Reference<IUsageGrain>(null!));
            Assert.Throws<ArgumentNullException>(() => ((IGrainFactory)null!).Reference<IUsageGrain>("x"));
            Assert.Throws<ArgumentNullException>(() => ((IGrainFactory)null!).Reference<IJobGrain>(1));
            Assert.Throws<ArgumentNullException>(() => ((IGrainFactory)null!).Reference<IVmLeaseGrain>(Guid.NewGuid()));
            world.Client.Reference<IUsageGrain>("x");
        }
    }

    private static void SameAs(IAddressable expected, IAddressable actual)
    {
        var orleans = (GrainReference)expected;
        var ours = (GrainReference)actual;
        Assert.Equal(orleans.GrainId, ours.GrainId);
        Assert.Equal(orleans.InterfaceType, ours.InterfaceType);
        Assert.Equal(expected.GetType(), actual.GetType());
        Assert.Equal(orleans, ours);
    }
}
