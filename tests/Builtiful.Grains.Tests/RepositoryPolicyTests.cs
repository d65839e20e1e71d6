using Builtiful.Jobs;
using Builtiful.Organisations;

namespace Builtiful.Grains.Tests;

/// <summary>The organisation grain decides which repositories' jobs get a VM: its allow-list and its public-repository opt-in.</summary>
public sealed class RepositoryPolicyTests(LifecycleCluster world) : IClassFixture<LifecycleCluster>
{
    [Theory]
    [InlineData(RepositoryVisibility.Public, "is public")]
    [InlineData(RepositoryVisibility.Unknown, "treated as public")]
    public async Task A_public_or_unknown_visibility_job_is_refused_without_the_opt_in_and_holds_no_capacity(RepositoryVisibility visibility, string words)
    {
        var installationId = await world.InstallAsync();
        var jobId = LifecycleCluster.NewJobId();

        var outcome = await world.Job(jobId).Apply(LifecycleCluster.JobEvent(jobId, installationId, JobStatus.Queued, repository: LifecycleCluster.PublicRepository(installationId), visibility: visibility));

        Assert.Equal(JobEventOutcome.Rejected, outcome);
        var job = (await world.Job(jobId).GetView())!;
        Assert.Equal(RejectionCode.PublicRepository, job.RejectionCode);
        Assert.Contains(words, job.RejectionReason, StringComparison.Ordinal);
        Assert.Null(job.LeaseId);
        var organisation = await world.Organisation(installationId).GetView();
        Assert.Equal(0, organisation.LiveLeases);
        Assert.Equal(0, organisation.WaitingJobs);
        Assert.DoesNotContain(world.Compute.Vms, vm => vm.Tags.GetValueOrDefault(Providers.InstanceTags.Installation) == installationId.ToString(System.Globalization.CultureInfo.InvariantCulture));

        // A redelivery of the refused job changes nothing.
        Assert.Equal(JobEventOutcome.Ignored, await world.Job(jobId).Apply(LifecycleCluster.JobEvent(jobId, installationId, JobStatus.Queued, repository: LifecycleCluster.PublicRepository(installationId), visibility: visibility)));
        Assert.Equal(0, (await world.Organisation(installationId).GetView()).LiveLeases);
    }

    [Theory]
    [InlineData(RepositoryVisibility.Private)]
    [InlineData(RepositoryVisibility.Internal)]
    public async Task Private_and_internal_repositories_need_no_opt_in(RepositoryVisibility visibility)
    {
        var installationId = await world.InstallAsync();
        var jobId = LifecycleCluster.NewJobId();

        Assert.Equal(JobEventOutcome.Applied, await world.Job(jobId).Apply(LifecycleCluster.JobEvent(jobId, installationId, JobStatus.Queued, repository: LifecycleCluster.PublicRepository(installationId), visibility: visibility)));

        Assert.Equal(1, (await world.Organisation(installationId).GetView()).LiveLeases);
    }

    [Fact]
    public async Task With_the_opt_in_a_public_repository_job_gets_a_VM()
    {
        var installationId = await world.InstallAsync();
        var stored = await Operations(installationId).SetRepositoryPolicy(new RepositoryPolicy { AllowPublicRepositories = true });
        var jobId = LifecycleCluster.NewJobId();

        Assert.True(stored!.AllowPublicRepositories);
        Assert.Equal(JobEventOutcome.Applied, await world.Job(jobId).Apply(LifecycleCluster.JobEvent(jobId, installationId, JobStatus.Queued, repository: LifecycleCluster.PublicRepository(installationId), visibility: RepositoryVisibility.Public)));
        var leaseId = Assert.Single((await world.Organisation(installationId).GetView()).LeaseIds);
        Assert.Equal(jobId, (await world.LeaseReaches(leaseId, Leases.LeasePhase.Booting)).LaunchedForJobId);
    }

    [Fact]
    public async Task An_allow_list_admits_its_repositories_in_any_case_and_refuses_the_rest()
    {
        var installationId = await world.InstallAsync();
        var web = world.AddRepository(installationId, "Web");
        var api = world.AddRepository(installationId, "api");
        var secrets = world.AddRepository(installationId, "secrets");
        var stored = await Operations(installationId).SetRepositoryPolicy(new RepositoryPolicy
        {
            AllowedRepositories = [$" {web} ", web.ToLowerInvariant(), api],
        });
        long allowed = LifecycleCluster.NewJobId(), other = LifecycleCluster.NewJobId();

        var admitted = await world.Job(allowed).Apply(LifecycleCluster.JobEvent(allowed, installationId, JobStatus.Queued, repository: web.ToUpperInvariant()));
        var refused = await world.Job(other).Apply(LifecycleCluster.JobEvent(other, installationId, JobStatus.Queued, repository: secrets));

        Assert.Equal([api, web], stored!.AllowedRepositories);
        Assert.Equal(JobEventOutcome.Applied, admitted);
        Assert.Equal(JobEventOutcome.Rejected, refused);
        var view = (await world.Job(other).GetView())!;
        Assert.Equal(RejectionCode.RepositoryNotAllowed, view.RejectionCode);
        Assert.Contains($"{secrets} is not on the repository allow-list", view.RejectionReason, StringComparison.Ordinal);
        var organisation = await world.Organisation(installationId).GetView();
        Assert.Equal(1, organisation.LiveLeases);
        Assert.DoesNotContain(other, (await world.Organisation(installationId).GetPendingJobs()).Select(p => p.JobId));
    }

    [Fact]
    public async Task The_allow_list_is_checked_before_the_opt_in_and_an_empty_list_allows_every_repository()
    {
        var installationId = await world.InstallAsync();
        var web = world.AddRepository(installationId, "web");
        var other = world.AddRepository(installationId, "other", isPublic: true);
        var anything = world.AddRepository(installationId, "anything");
        await Operations(installationId).SetRepositoryPolicy(new RepositoryPolicy { AllowedRepositories = [web], AllowPublicRepositories = true });
        long publicOther = LifecycleCluster.NewJobId(), anyRepository = LifecycleCluster.NewJobId();

        await world.Job(publicOther).Apply(LifecycleCluster.JobEvent(publicOther, installationId, JobStatus.Queued, repository: other, visibility: RepositoryVisibility.Public));
        await Operations(installationId).SetRepositoryPolicy(new RepositoryPolicy { AllowedRepositories = [], AllowPublicRepositories = false });
        await world.Job(anyRepository).Apply(LifecycleCluster.JobEvent(anyRepository, installationId, JobStatus.Queued, repository: anything));

        Assert.Equal(RejectionCode.RepositoryNotAllowed, (await world.Job(publicOther).GetView())!.RejectionCode);
        Assert.Null((await world.Job(anyRepository).GetView())!.RejectionCode);
        var policy = await Operations(installationId).GetRepositoryPolicy();
        Assert.Empty(policy.AllowedRepositories);
        Assert.False(policy.AllowPublicRepositories);
    }

    [Fact]
    public async Task The_policy_of_an_installation_never_seen_is_not_stored()
    {
        var stranger = LifecycleCluster.NewJobId();

        Assert.Null(await Operations(stranger).SetRepositoryPolicy(new RepositoryPolicy { AllowPublicRepositories = true }));
        Assert.False((await Operations(stranger).GetRepositoryPolicy()).AllowPublicRepositories);
    }

    [Fact]
    public async Task The_policy_is_kept_in_the_organisations_stored_state()
    {
        var installationId = await world.InstallAsync();
        var web = LifecycleCluster.Repository(installationId, "web");
        await Operations(installationId).SetRepositoryPolicy(new RepositoryPolicy { AllowedRepositories = [web], AllowPublicRepositories = true });

        var grain = world.Client.GetGrain<IOrganisationGrain>(installationId);
        await world.Client.GetGrain<IManagementGrain>(0).ForceActivationCollection(TimeSpan.Zero);
        var policy = await Operations(installationId).GetRepositoryPolicy();

        Assert.True(policy.AllowPublicRepositories);
        Assert.Equal([web], policy.AllowedRepositories);
        Assert.Equal(OrganisationStatus.Active, (await grain.GetView()).Status);
    }

    private IOrganisationOperations Operations(long installationId) => world.Client.GetGrain<IOrganisationOperations>(installationId);
}
