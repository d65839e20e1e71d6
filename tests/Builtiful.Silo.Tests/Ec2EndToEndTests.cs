using System.Globalization;
using System.Net;
using System.Text;
using System.Text.Json;
using Amazon.EC2;
using Amazon.EC2.Model;
using Builtiful.Compute.Ec2.Api;
using Builtiful.Providers;
using Builtiful.Simulation.GitHub;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;

namespace Builtiful.Silo.Tests;

/// <summary>
/// The all-in-one as the README starts it, pointed at EC2 by configuration only: a moto_server of its own with a
/// runner network in two zones, test credentials found by the AWS SDK's default chain (environment variables, as
/// on a developer's machine), GitHub simulated. Real signed payloads in; what the provider did is read back from
/// moto with the real AWSSDK.EC2 client.
/// </summary>
public sealed class Ec2EndToEndTests : IAsyncLifetime
{
    private static readonly string[] TwoZones = ["us-east-1a", "us-east-1b"];

    private readonly MotoServer _moto = new() { CreateDefaultNetworks = false };
    private readonly string _cluster = "e2e-" + Guid.NewGuid().ToString("N")[..12];
    private MotoRunnerNetwork _network = null!;
    private AmazonEC2Client _ec2 = null!;

    public async Task InitializeAsync()
    {
        // The provider builds its client with no credentials of its own, so the SDK's chain must find these, as it finds
        // AWS_ACCESS_KEY_ID on a developer's machine or the instance role on a silo. Process-wide, and only ever moto's.
        Environment.SetEnvironmentVariable("AWS_ACCESS_KEY_ID", "testing");
        Environment.SetEnvironmentVariable("AWS_SECRET_ACCESS_KEY", "testing");
        Environment.SetEnvironmentVariable("AWS_EC2_METADATA_DISABLED", "true");
        await _moto.InitializeAsync();
        _network = await _moto.CreateRunnerNetworkAsync(MotoServer.Region, TwoZones);
        _ec2 = _moto.DirectClient();
    }

    public async Task DisposeAsync()
    {
        _ec2?.Dispose();
        await _moto.DisposeAsync();
    }

    [Fact]
    public async Task A_queued_job_gets_one_locked_down_instance_that_is_terminated_when_the_job_completes()
    {
        await using var builtiful = await StartAsync();
        var (installationId, jobId) = (NewId(), NewId());
        var repository = await InstallAsync(builtiful, installationId);
        await DeliverAsync(builtiful, "workflow_job", Payloads.WorkflowJob("workflow_job.queued.5.json", jobId, installationId, repository: repository));

        var lease = await LeaseWithInstanceAsync(builtiful, installationId);
        var leaseId = lease.GetProperty("id").GetGuid();
        var instanceId = lease.GetProperty("instanceId").GetString()!;
        var runnerName = lease.GetProperty("runnerName").GetString()!;
        Assert.Equal($"builtiful-{leaseId:N}", runnerName);

        var instance = Assert.Single(await OurInstancesAsync());
        Assert.Equal(instanceId, instance.InstanceId);
        Assert.Equal(HttpTokensState.Required, instance.MetadataOptions.HttpTokens);
        Assert.Equal(1, instance.MetadataOptions.HttpPutResponseHopLimit);
        Assert.Equal(InstanceMetadataEndpointState.Enabled, instance.MetadataOptions.HttpEndpoint);
        Assert.Null(instance.IamInstanceProfile);
        Assert.Equal(_network.SecurityGroupId, Assert.Single(instance.SecurityGroups).GroupId);
        Assert.Contains(instance.SubnetId, _network.SubnetIds);
        Assert.Equal(_moto.ImageId, instance.ImageId);
        Assert.Equal("m7i.large", instance.InstanceType.Value);

        var tags = instance.Tags.ToDictionary(t => t.Key, t => t.Value, StringComparer.Ordinal);
        Assert.Equal(leaseId.ToString("N"), tags[InstanceTags.Lease]);
        Assert.Equal(installationId.ToString(CultureInfo.InvariantCulture), tags[InstanceTags.Installation]);
        Assert.Equal(jobId.ToString(CultureInfo.InvariantCulture), tags[InstanceTags.Job]);
        Assert.Equal(_cluster, tags[InstanceTags.Cluster]);
        Assert.Equal(lease.GetProperty("expiresAt").GetDateTimeOffset(), DateTimeOffset.Parse(tags[InstanceTags.ExpiresAt], CultureInfo.InvariantCulture));
        Assert.Equal(runnerName, tags["Name"]);
        Assert.Equal("builtiful-2vcpu-ubuntu-2404", tags["builtiful:machine-type"]);

        var shutdown = await _ec2.DescribeInstanceAttributeAsync(new DescribeInstanceAttributeRequest
        {
            InstanceId = instanceId,
            Attribute = InstanceAttributeName.InstanceInitiatedShutdownBehavior,
        });
        Assert.Equal("terminate", shutdown.InstanceAttribute.InstanceInitiatedShutdownBehavior);
        var userData = await _ec2.DescribeInstanceAttributeAsync(new DescribeInstanceAttributeRequest { InstanceId = instanceId, Attribute = InstanceAttributeName.UserData });
        var script = Encoding.UTF8.GetString(Convert.FromBase64String(userData.InstanceAttribute.UserData));
        Assert.StartsWith("#!/bin/bash\n", script, StringComparison.Ordinal);
        // No runner config in what ec2:DescribeInstanceAttribute shows: the VM claims it at this host's own gateway after boot.
        Assert.Contains($"claim_url='{new Uri(builtiful.BaseAddress, "/api/runners/claim").AbsoluteUri}'", script, StringComparison.Ordinal);
        Assert.Contains($"lease_id='{leaseId:D}'", script, StringComparison.Ordinal);
        Assert.DoesNotContain("--jitconfig", script, StringComparison.Ordinal);
        Assert.DoesNotMatch("[A-Za-z0-9+/=]{100,}", script);
        Assert.Contains("runuser -u 'runner' -- ./run.sh", script, StringComparison.Ordinal);
        Assert.Contains($"deadline={lease.GetProperty("expiresAt").GetDateTimeOffset().ToUnixTimeSeconds()}", script, StringComparison.Ordinal);

        var group = Assert.Single((await _ec2.DescribeSecurityGroupsAsync(new DescribeSecurityGroupsRequest { GroupIds = [_network.SecurityGroupId] })).SecurityGroups);
        Assert.Empty(group.IpPermissions ?? []);

        // GitHub hands the job to the runner and reports it, naming the runner as the lease named it.
        await DeliverAsync(builtiful, "workflow_job", Payloads.WorkflowJob("workflow_job.in_progress.0.json", jobId, installationId, runnerName: runnerName, repository: repository));
        await Eventually.Until(() => LeaseAsync(builtiful, leaseId), l => l.GetProperty("phase").GetString() == "busy", "the lease is bound to the job");
        Assert.Equal("running", (await DescribeAsync(instanceId)).State.Name.Value);

        await DeliverAsync(builtiful, "workflow_job", Payloads.WorkflowJob("workflow_job.completed.1.json", jobId, installationId, runnerName: runnerName, repository: repository));
        lease = await Eventually.Until(() => LeaseAsync(builtiful, leaseId), l => l.GetProperty("phase").GetString() == "terminated", "the lease is terminated");
        Assert.Equal("terminated", (await DescribeAsync(instanceId)).State.Name.Value);
        Assert.Equal(instanceId, lease.GetProperty("instanceId").GetString());
        Assert.Equal(runnerName, lease.GetProperty("runnerName").GetString());
        Assert.Equal(jobId, lease.GetProperty("jobId").GetInt64());
        Assert.Equal($"job {jobId} completed", lease.GetProperty("endReason").GetString());

        var job = (await builtiful.AdminJsonAsync($"/api/v1/jobs/{jobId}"))!.Value;
        Assert.Equal("completed", job.GetProperty("status").GetString());
        Assert.Equal(leaseId, job.GetProperty("leaseId").GetGuid());
        Assert.Equal(instanceId, job.GetProperty("instanceId").GetString());
        Assert.Equal(runnerName, job.GetProperty("runnerName").GetString());

        // Exactly one instance was ever launched for the job, and nothing of this cluster is left running.
        Assert.All(await OurInstancesAsync(), i => Assert.Equal("terminated", i.State.Name.Value));
        Assert.Single(await OurInstancesAsync());
    }

    [Fact]
    public async Task An_instance_whose_runner_never_takes_a_job_is_terminated_at_the_boot_deadline()
    {
        var clock = new FakeTimeProvider(DateTimeOffset.UtcNow);
        await using var builtiful = await StartAsync(clock);
        var (installationId, jobId) = (NewId(), NewId());
        var repository = await InstallAsync(builtiful, installationId);
        await DeliverAsync(builtiful, "workflow_job", Payloads.WorkflowJob("workflow_job.queued.5.json", jobId, installationId, repository: repository));

        var lease = await LeaseWithInstanceAsync(builtiful, installationId);
        var leaseId = lease.GetProperty("id").GetGuid();
        var instanceId = lease.GetProperty("instanceId").GetString()!;
        await Eventually.Until(() => LeaseAsync(builtiful, leaseId), l => l.GetProperty("phase").GetString() == "idle", "the lease sees its VM running");

        Assert.Equal(lease.GetProperty("requestedAt").GetDateTimeOffset() + TimeSpan.FromMinutes(10), lease.GetProperty("bootDeadline").GetDateTimeOffset());
        Assert.Equal("running", (await DescribeAsync(instanceId)).State.Name.Value);

        // Nobody reports back: no in_progress ever comes. Past the boot deadline the runner is deregistered and the VM destroyed.
        clock.Advance(TimeSpan.FromMinutes(11));
        lease = await Eventually.Until(() => LeaseAsync(builtiful, leaseId), l => l.GetProperty("phase").GetString() == "terminated", "the lease is terminated");
        Assert.StartsWith("boot deadline passed", lease.GetProperty("endReason").GetString(), StringComparison.Ordinal);
        Assert.Equal("terminated", (await DescribeAsync(instanceId)).State.Name.Value);

        // The job is still queued on GitHub: it gets one new VM (a new lease), and the dead one stays dead.
        var job = (await builtiful.AdminJsonAsync($"/api/v1/jobs/{jobId}"))!.Value;
        Assert.Equal("queued", job.GetProperty("status").GetString());
        var instances = await Eventually.Until(OurInstancesAsync, all => all.Count == 2 && all.Any(i => i.State.Name.Value == "running"), "the queued job gets a new VM");
        var replacement = Assert.Single(instances, i => i.InstanceId != instanceId);
        var replacementTags = replacement.Tags.ToDictionary(t => t.Key, t => t.Value, StringComparer.Ordinal);
        Assert.Equal(jobId.ToString(CultureInfo.InvariantCulture), replacementTags[InstanceTags.Job]);
        Assert.NotEqual(leaseId.ToString("N"), replacementTags[InstanceTags.Lease]);
        Assert.Equal("terminated", instances.Single(i => i.InstanceId == instanceId).State.Name.Value);
    }

    [Fact]
    public async Task A_VM_that_takes_its_time_to_shut_down_is_asked_to_terminate_once_and_then_only_watched()
    {
        // EC2 keeps a terminated instance shutting-down for a while (moto does not): the next three reads say so.
        var slow = new SlowShutdown(reads: 3);
        await using var builtiful = await StartAsync(configure: builder => builder.Services.AddSingleton(new Ec2Transport { HttpClientFactory = slow }));
        var (installationId, jobId) = (NewId(), NewId());
        var repository = await InstallAsync(builtiful, installationId);
        await DeliverAsync(builtiful, "workflow_job", Payloads.WorkflowJob("workflow_job.queued.5.json", jobId, installationId, repository: repository));
        var lease = await LeaseWithInstanceAsync(builtiful, installationId);
        var leaseId = lease.GetProperty("id").GetGuid();
        var runnerName = lease.GetProperty("runnerName").GetString();

        await DeliverAsync(builtiful, "workflow_job", Payloads.WorkflowJob("workflow_job.completed.1.json", jobId, installationId, runnerName: runnerName, repository: repository));
        lease = await Eventually.Until(() => LeaseAsync(builtiful, leaseId), l => l.GetProperty("phase").GetString() == "terminated", "the lease is terminated");

        Assert.Equal(0, slow.ShuttingDownReadsLeft);
        Assert.True(lease.GetProperty("terminationAttempts").GetInt32() >= 3, $"the lease polled {lease.GetProperty("terminationAttempts")} times");
        Assert.Equal(1, slow.TerminateRequests);
        Assert.Equal("terminated", (await DescribeAsync(lease.GetProperty("instanceId").GetString()!)).State.Name.Value);
    }

    [Fact]
    public async Task A_launch_interrupted_after_EC2_made_the_VM_adopts_that_VM_when_the_lease_comes_back()
    {
        await using var builtiful = await StartAsync();
        var (installationId, jobId, leaseId) = (NewId(), NewId(), Guid.NewGuid());
        await InstallAsync(builtiful, installationId);

        // What a silo that died mid-launch leaves behind: the lease stored as launching its first attempt, and the VM
        // EC2 made for it (moto, unlike EC2, would not recognise the token, so a resend would show as a second VM).
        var now = DateTimeOffset.UtcNow;
        var machine = builtiful.App.Services.GetRequiredService<Builtiful.Machines.MachineCatalogue>().Match(["builtiful-2vcpu-ubuntu-2404"]).MachineType!;
        var stored = new Builtiful.Leases.LeaseState
        {
            Known = true,
            Phase = Builtiful.Leases.LeasePhase.Launching,
            InstallationId = installationId,
            LaunchedForJobId = jobId,
            MachineType = machine,
            Labels = ["builtiful-2vcpu-ubuntu-2404"],
            RunnerName = Builtiful.Leases.RunnerNames.ForLease(leaseId),
            RequestedAt = now,
            BootDeadline = now + TimeSpan.FromMinutes(10),
            ExpiresAt = now + TimeSpan.FromHours(6),
            LaunchAttempts = 1,
        };
        var earlier = (await _ec2.RunInstancesAsync(new RunInstancesRequest
        {
            ImageId = _moto.ImageId,
            InstanceType = InstanceType.M7iLarge,
            MinCount = 1,
            MaxCount = 1,
            SubnetId = _network.SubnetIds[0],
            SecurityGroupIds = [_network.SecurityGroupId],
            TagSpecifications = [new TagSpecification
            {
                ResourceType = ResourceType.Instance,
                Tags = [new Tag(InstanceTags.Lease, leaseId.ToString("N")), new Tag(InstanceTags.Cluster, _cluster), new Tag(InstanceTags.Job, jobId.ToString(CultureInfo.InvariantCulture))],
            }],
        })).Reservation.Instances.Single().InstanceId;
        var grains = builtiful.App.Services.GetRequiredService<IGrainFactory>();
        var storage = builtiful.App.Services.GetRequiredKeyedService<Orleans.Storage.IGrainStorage>(Builtiful.StorageNames.Grains);
        await storage.WriteStateAsync("lease", grains.GetGrain<Builtiful.Leases.IVmLeaseGrain>(leaseId).GetGrainId(), new GrainState<Builtiful.Leases.LeaseState>(stored));

        // Any look at the lease activates it; it resumes its attempt.
        var lease = await Eventually.Until(() => LeaseAsync(builtiful, leaseId), l => l.GetProperty("instanceId").ValueKind == JsonValueKind.String, "the lease resumes its launch");

        Assert.Equal(earlier, lease.GetProperty("instanceId").GetString());
        Assert.Equal(1, lease.GetProperty("launchAttempts").GetInt32());
        var instances = await OurInstancesAsync();
        Assert.Equal(earlier, Assert.Single(instances).InstanceId);
        Assert.Equal("running", instances[0].State.Name.Value);
    }

    [Fact]
    public async Task An_untracked_instance_survives_the_first_sweep_and_is_terminated_by_the_second_and_another_clusters_is_never_touched()
    {
        var clock = new FakeTimeProvider(DateTimeOffset.UtcNow);
        await using var builtiful = await StartAsync(clock);
        var untracked = await RunInstanceAsync(_cluster);
        var foreign = await RunInstanceAsync("staging-" + Guid.NewGuid().ToString("N")[..8]);
        var reconciler = builtiful.App.Services.GetRequiredService<IGrainFactory>().GetGrain<Builtiful.Reconciliation.IReconcilerGrain>("Ec2");

        var first = await reconciler.Sweep();
        Assert.Contains(untracked, first.NewSuspects);
        Assert.Equal("running", (await DescribeAsync(untracked)).State.Name.Value);

        for (var sweep = 0; sweep < 2; sweep++)
        {
            clock.Advance(TimeSpan.FromMinutes(1));
            await reconciler.Sweep();
        }

        Assert.Contains((await DescribeAsync(untracked)).State.Name.Value, new[] { "shutting-down", "terminated" });
        Assert.Equal("running", (await DescribeAsync(foreign)).State.Name.Value);
    }

    /// <summary>An instance with this cluster's tag (or another's) and a lease that never existed, made behind Builtiful's back.</summary>
    private async Task<string> RunInstanceAsync(string cluster) =>
        (await _ec2.RunInstancesAsync(new RunInstancesRequest
        {
            ImageId = _moto.ImageId,
            InstanceType = InstanceType.M7iLarge,
            MinCount = 1,
            MaxCount = 1,
            SubnetId = _network.SubnetIds[0],
            SecurityGroupIds = [_network.SecurityGroupId],
            TagSpecifications = [new TagSpecification
            {
                ResourceType = ResourceType.Instance,
                Tags = [new Tag(InstanceTags.Lease, Guid.NewGuid().ToString("N")), new Tag(InstanceTags.Cluster, cluster)],
            }],
        })).Reservation.Instances.Single().InstanceId;

    /// <summary>The README's command with the environment a user would set, as configuration keys.</summary>
    private Task<BuiltifulInstance> StartAsync(TimeProvider? clock = null, Action<WebApplicationBuilder>? configure = null)
    {
        var settings = new Dictionary<string, string>
        {
            ["Compute:Provider"] = "Ec2",
            ["Compute:Ec2:Region"] = MotoServer.Region,
            ["Compute:Ec2:ServiceUrl"] = _moto.Url.ToString(),
            ["Compute:Ec2:SecurityGroupId"] = _network.SecurityGroupId,
            ["Compute:Ec2:Images:x64"] = _moto.ImageId,
            ["GitHub:Mode"] = "Simulated",
            ["Compute:Ec2:ClusterName"] = _cluster,
            // These tests run the all-in-one on in-memory state: the trial override, named as a user would set it.
            ["Compute:Ec2:AllowEphemeralState"] = "true",
            ["Leases:CheckPeriod"] = "00:00:01",
            ["Leases:TerminationPollInterval"] = "00:00:01",
        };
        for (var i = 0; i < _network.SubnetIds.Count; i++)
        {
            settings[$"Compute:Ec2:SubnetIds:{i}"] = _network.SubnetIds[i];
        }

        return BuiltifulInstance.StartAsync(settings, builder =>
        {
            if (clock is not null)
            {
                builder.Services.AddKeyedSingleton(BuiltifulClock.Key, clock);
            }

            configure?.Invoke(builder);
        });
    }

    private static long NewId() => Random.Shared.NextInt64(1_000_000, long.MaxValue);

    /// <summary>
    /// The recorded installation (a user account) under a login of its own, made known to the simulated GitHub first with
    /// one private repository, so the App client can mint the runner config the instance's user data carries.
    /// </summary>
    private static async Task<string> InstallAsync(BuiltifulInstance builtiful, long installationId)
    {
        var login = "ec2-" + Guid.NewGuid().ToString("N")[..8];
        var repository = login + "/Hello-World";
        await builtiful.KnowInWorldAsync(installationId, login, AccountKind.User, (repository, false));
        await DeliverAsync(builtiful, "installation", Payloads.Installation("installation.created.1.json", installationId, login));
        return repository;
    }

    private static async Task DeliverAsync(BuiltifulInstance builtiful, string @event, string body)
    {
        using var response = await builtiful.DeliverAsync(@event, body);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }

    private static async Task<JsonElement> LeaseAsync(BuiltifulInstance builtiful, Guid leaseId) =>
        (await builtiful.AdminJsonAsync($"/api/v1/leases/{leaseId}"))!.Value;

    private static async Task<JsonElement> LeaseWithInstanceAsync(BuiltifulInstance builtiful, long installationId)
    {
        var organisation = await Eventually.Until(
            async () => (await builtiful.AdminJsonAsync($"/api/v1/organisations/{installationId}"))!.Value,
            o => o.GetProperty("leaseIds").GetArrayLength() == 1,
            "the organisation starts one lease");
        var leaseId = organisation.GetProperty("leaseIds")[0].GetGuid();
        return await Eventually.Until(
            () => LeaseAsync(builtiful, leaseId),
            l => l.GetProperty("instanceId").ValueKind == JsonValueKind.String,
            "the lease has launched its instance");
    }

    private async Task<Instance> DescribeAsync(string instanceId) =>
        (await _ec2.DescribeInstancesAsync(new DescribeInstancesRequest { InstanceIds = [instanceId] })).Reservations.SelectMany(r => r.Instances).Single();

    /// <summary>Every instance tagged with this test's cluster, in any state.</summary>
    private async Task<List<Instance>> OurInstancesAsync()
    {
        var response = await _ec2.DescribeInstancesAsync(new DescribeInstancesRequest { Filters = [new Filter($"tag:{InstanceTags.Cluster}", [_cluster])] });
        return [.. (response.Reservations ?? []).SelectMany(r => r.Instances ?? [])];
    }
}

/// <summary>
/// The SDK's HTTP stack with one change: the first few DescribeInstances answers that show an instance terminated say
/// shutting-down instead, as EC2 does for a while after TerminateInstances. Counts TerminateInstances requests.
/// </summary>
internal sealed class SlowShutdown : Amazon.Runtime.HttpClientFactory
{
    private readonly HttpClient _client;
    private int _shuttingDownReadsLeft;
    private int _terminateRequests;

    public SlowShutdown(int reads)
    {
        _shuttingDownReadsLeft = reads;
        _client = new HttpClient(new Rewriter(this), disposeHandler: true);
    }

    public int ShuttingDownReadsLeft => Volatile.Read(ref _shuttingDownReadsLeft);

    public int TerminateRequests => Volatile.Read(ref _terminateRequests);

    public override HttpClient CreateHttpClient(Amazon.Runtime.IClientConfig clientConfig) => _client;

    public override bool UseSDKHttpClientCaching(Amazon.Runtime.IClientConfig clientConfig) => false;

    public override bool DisposeHttpClientsAfterUse(Amazon.Runtime.IClientConfig clientConfig) => false;

    /// <summary>True for as many reads as were asked for, then never again.</summary>
    private bool TakeShuttingDownRead()
    {
        while (true)
        {
            var left = Volatile.Read(ref _shuttingDownReadsLeft);
            if (left == 0)
            {
                return false;
            }

            if (Interlocked.CompareExchange(ref _shuttingDownReadsLeft, left - 1, left) == left)
            {
                return true;
            }
        }
    }

    private sealed class Rewriter(SlowShutdown owner) : DelegatingHandler(new SocketsHttpHandler())
    {
        protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            var body = await Ec2RequestBody.ReadAndReplaceAsync(request, cancellationToken);

            if (body.Contains("Action=TerminateInstances", StringComparison.Ordinal))
            {
                Interlocked.Increment(ref owner._terminateRequests);
            }

            var response = await base.SendAsync(request, cancellationToken);
            if (!body.Contains("Action=DescribeInstances", StringComparison.Ordinal))
            {
                return response;
            }

            var xml = await response.Content.ReadAsStringAsync(cancellationToken);
            if (xml.Contains("<name>terminated</name>", StringComparison.Ordinal) && owner.TakeShuttingDownRead())
            {
                xml = xml.Replace("<code>48</code>", "<code>32</code>", StringComparison.Ordinal)
                    .Replace("<name>terminated</name>", "<name>shutting-down</name>", StringComparison.Ordinal);
            }

            var rewritten = new StringContent(xml, Encoding.UTF8);
            rewritten.Headers.Clear();
            foreach (var header in response.Content.Headers.Where(h => !h.Key.Equals("Content-Length", StringComparison.OrdinalIgnoreCase)))
            {
                rewritten.Headers.TryAddWithoutValidation(header.Key, header.Value);
            }

            response.Content = rewritten;
            return response;
        }
    }
}
