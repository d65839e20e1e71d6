using Builtiful.Jobs;
using Builtiful.Leases;
using Microsoft.Extensions.DependencyInjection;

namespace Builtiful.Grains.Tests;

/// <summary>
/// A silo joins its cluster before its own gateway listens (the embedded host learns its claim URL only then): a lease
/// woken meanwhile waits for the address and launches once, instead of failing launch attempts that back off.
/// </summary>
public sealed class ClaimAddressTests(ClaimAddressTests.StartingCluster world) : IClassFixture<ClaimAddressTests.StartingCluster>
{
    [Fact]
    public async Task A_lease_woken_before_the_claim_address_is_known_launches_once_it_is_known_on_its_first_attempt()
    {
        var installationId = await world.InstallAsync();
        var jobId = LifecycleCluster.NewJobId();

        var queued = world.Job(jobId).Apply(LifecycleCluster.JobEvent(jobId, installationId, JobStatus.Queued));
        await world.Address.Asked.Task.WaitAsync(TimeSpan.FromSeconds(30));
        Assert.Empty(world.Compute.Vms);

        world.Address.Listen(LifecycleCluster.ClaimUrl);
        Assert.Equal(JobEventOutcome.Applied, await queued);
        var leaseId = Assert.Single((await world.Organisation(installationId).GetView()).LeaseIds);
        var lease = await world.LeaseReaches(leaseId, LeasePhase.Booting);

        Assert.Equal(1, lease.LaunchAttempts);
        var vm = Assert.Single(world.Compute.Vms, v => v.LeaseId == leaseId);
        Assert.Equal(vm.InstanceId, lease.InstanceId);
    }

    public sealed class StartingCluster : LifecycleCluster
    {
        public ListenerAddress Address { get; } = new();

        protected override void ConfigureSilo(IServiceCollection services) => services.AddSingleton<IClaimAddress>(Address);
    }

    /// <summary>A claim address known only once the test says the listener is bound.</summary>
    public sealed class ListenerAddress : IClaimAddress
    {
        private readonly TaskCompletionSource<Uri> _bound = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public TaskCompletionSource Asked { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public Uri? Current => _bound.Task.IsCompletedSuccessfully ? _bound.Task.Result : null;

        public void Listen(Uri url) => _bound.TrySetResult(url);

        public async Task<Uri?> WhenKnownAsync(CancellationToken cancellationToken)
        {
            Asked.TrySetResult();
            return await _bound.Task.WaitAsync(cancellationToken);
        }
    }
}
