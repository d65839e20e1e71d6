using Builtiful.Jobs;
using Builtiful.Providers;
using Builtiful.Simulation;
using Builtiful.Testing;
using Microsoft.Extensions.DependencyInjection;

namespace Builtiful.Grains.Tests;

/// <summary>A cloud that refuses every launch for good (a bad image): the job fails at once with the cloud's reason, after one launch request.</summary>
public sealed class PermanentRefusalTests(PermanentRefusalTests.Cloud world) : IClassFixture<PermanentRefusalTests.Cloud>
{
    [Fact]
    public async Task A_permanent_refusal_fails_the_job_at_once_with_the_providers_reason_after_exactly_one_launch_request()
    {
        var installationId = await world.InstallAsync();
        var jobId = LifecycleCluster.NewJobId();
        Assert.Equal(JobEventOutcome.Applied, await world.Job(jobId).Apply(LifecycleCluster.JobEvent(jobId, installationId, JobStatus.Queued)));

        var job = await Eventually.Until(() => world.Job(jobId).GetView(), v => v?.RejectionReason is not null, "the job fails");
        Assert.Contains("InvalidAMIID.NotFound", job!.RejectionReason, StringComparison.Ordinal);
        Assert.Equal(RejectionCode.ProvisioningFailed, job.RejectionCode);

        // Several organisation ticks later: no second lease, no second request.
        world.Clock.Advance(TimeSpan.FromMinutes(5));
        await Eventually.Until(() => world.Organisation(installationId).GetView(), v => v.LiveLeases == 0, "the slot is free");

        // The organisation's capacity checks, each run to its end: a job still waiting for a VM would be ordered one here,
        // and the new lease would hold a slot at once.
        for (var check = 0; check < 3; check++)
        {
            await world.Organisation(installationId).Reconcile();
        }

        Assert.Equal(0, (await world.Organisation(installationId).GetView()).LiveLeases);
        Assert.Equal(1, world.Refusing.Requests);
        Assert.DoesNotContain(await world.Organisation(installationId).GetPendingJobs(), p => p.JobId == jobId);
    }

    public sealed class Cloud : LifecycleCluster
    {
        public RefusingCloud Refusing { get; } = new();

        protected override void ConfigureSilo(IServiceCollection services) =>
            services.AddSingleton<IComputeProvider>(sp => Refusing.Over(sp.GetRequiredService<SimulatedComputeProvider>()));
    }

    /// <summary>Counts launch requests (the independent record) and refuses each the way EC2 refuses a missing image.</summary>
    public sealed class RefusingCloud
    {
        private int _requests;

        public int Requests => Volatile.Read(ref _requests);

        public IComputeProvider Over(SimulatedComputeProvider inner) => new Provider(this, inner);

        private sealed class Provider(RefusingCloud cloud, SimulatedComputeProvider inner) : DelegatingComputeProvider(inner)
        {
            public override Task<LaunchedInstance> LaunchAsync(LaunchRequest request, CancellationToken cancellationToken)
            {
                Interlocked.Increment(ref cloud._requests);
                throw new RefusedLaunchException("InvalidAMIID.NotFound: The image id '[ami-0bad]' does not exist");
            }
        }
    }

    public sealed class RefusedLaunchException : Exception, IProviderFailure
    {
        public RefusedLaunchException()
        {
        }

        public RefusedLaunchException(string message)
            : base(message)
        {
        }

        public RefusedLaunchException(string message, Exception innerException)
            : base(message, innerException)
        {
        }

        public bool IsPermanent => true;
    }
}
