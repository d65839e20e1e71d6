using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Builtiful.Providers;
using Builtiful.Simulation;
using Builtiful.Simulation.GitHub;
using Builtiful.Testing;
using Microsoft.Extensions.DependencyInjection;
using Xunit.Abstractions;

namespace Builtiful.Gateway.Tests;

/// <summary>
/// An organisation never waits on the cloud: while one of its leases is stuck in a slow EC2-style call (held on a gate the
/// test controls, as a 2-minute call would be), a queued job of the same installation is answered and gets its VM, judged
/// by the simulated cloud's record.
/// </summary>
public sealed class StuckLeaseTests(ITestOutputHelper output) : IAsyncLifetime
{
    private readonly StuckCompute _stuck = new();
    private BuiltifulInstance? _builtiful;

    private BuiltifulInstance Builtiful => _builtiful!;

    public async Task InitializeAsync() => _builtiful = await BuiltifulInstance.StartAsync(
        new Dictionary<string, string> { ["Simulation:BootDelay"] = "00:00:00.100" },
        builder => builder.Services.AddSingleton<IComputeProvider>(sp => _stuck.Over(sp.GetRequiredService<SimulatedComputeProvider>())));

    public async Task DisposeAsync()
    {
        _stuck.Gate.TrySetResult();
        await Builtiful.DisposeAsync();
    }

    [Fact]
    public async Task A_queued_job_is_answered_and_launched_while_another_lease_of_its_installation_is_stuck_terminating()
    {
        var installationId = Random.Shared.NextInt64(1_000_000, long.MaxValue);
        var repository = $"Codertocat/hello-{Guid.NewGuid():N}";
        await Builtiful.KnowInWorldAsync(installationId, "Codertocat", AccountKind.User, (repository, false));
        Assert.Equal(HttpStatusCode.OK, (await Builtiful.DeliverAsync("installation", Payloads.Installation("installation.created.1.json", installationId, "Codertocat"))).StatusCode);

        var first = NewId();
        await DeliverAsync(Payloads.WorkflowJob("workflow_job.queued.5.json", first, installationId, repository: repository));
        var vm = (await Eventually.Until(() => Task.FromResult(VmsFor(first)), vms => vms.Count > 0, $"a VM is launched for job {first}")).Single();

        // The job is cancelled before any runner took it: its VM is released, and the lease's cloud call hangs on the gate.
        _stuck.Hold(vm.InstanceId);
        await DeliverAsync(Payloads.WorkflowJob("workflow_job.completed.1.json", first, installationId, repository: repository));
        await _stuck.Entered.Task.WaitAsync(TimeSpan.FromSeconds(60));

        var second = NewId();
        var clock = Stopwatch.StartNew();
        await DeliverAsync(Payloads.WorkflowJob("workflow_job.queued.5.json", second, installationId, repository: repository));
        var answered = clock.Elapsed;
        var launched = await Eventually.Until(() => Task.FromResult(VmsFor(second)), vms => vms.Count > 0,
            $"job {second} gets a VM while the other lease is stuck", TimeSpan.FromSeconds(60));
        output.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"queued delivery answered in {answered.TotalMilliseconds:0} ms, its VM launched after {clock.Elapsed.TotalMilliseconds:0} ms, while the stuck call still waits"));

        Assert.False(_stuck.Gate.Task.IsCompleted, "the stuck call was let go before the second job was admitted");
        Assert.Single(launched);
        Assert.Null(vm.TerminatedAt);

        // Once the cloud answers, the stuck lease finishes its termination.
        _stuck.Gate.SetResult();
        await Eventually.Until(() => Task.FromResult(vm.TerminatedAt), t => t is not null, $"VM {vm.InstanceId} is terminated once the cloud answers", TimeSpan.FromSeconds(60));
    }

    private async Task DeliverAsync(string body)
    {
        using var response = await Builtiful.DeliverAsync("workflow_job", body);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.StartsWith("applied", (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("outcome").GetString(), StringComparison.Ordinal);
    }

    private List<SimulatedVm> VmsFor(long jobId) =>
        [.. Builtiful.Cloud.Vms.Where(v => v.Tags.GetValueOrDefault(InstanceTags.Job) == jobId.ToString(CultureInfo.InvariantCulture))];

    private static long NewId() => Random.Shared.NextInt64(1_000_000, long.MaxValue);

    /// <summary>The simulated cloud, except that describing or terminating a held instance waits on <see cref="Gate"/>, ignoring timeouts.</summary>
    private sealed class StuckCompute
    {
        private volatile string? _held;

        public TaskCompletionSource Gate { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public TaskCompletionSource Entered { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public void Hold(string instanceId) => _held = instanceId;

        public IComputeProvider Over(IComputeProvider cloud) => new Provider(cloud, this);

        private async Task WaitIfHeld(string instanceId)
        {
            if (instanceId == _held)
            {
                Entered.TrySetResult();
                await Gate.Task;
            }
        }

        private sealed class Provider(IComputeProvider cloud, StuckCompute stuck) : DelegatingComputeProvider(cloud)
        {
            public override async Task TerminateAsync(string instanceId, CancellationToken cancellationToken)
            {
                await stuck.WaitIfHeld(instanceId);
                await Inner.TerminateAsync(instanceId, cancellationToken);
            }

            public override async Task<InstanceState> DescribeAsync(string instanceId, CancellationToken cancellationToken)
            {
                await stuck.WaitIfHeld(instanceId);
                return await Inner.DescribeAsync(instanceId, CancellationToken.None);
            }
        }
    }
}
