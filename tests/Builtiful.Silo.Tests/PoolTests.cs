using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Builtiful.Leases;
using Builtiful.Providers;
using Builtiful.Simulation;
using Builtiful.Simulation.Cloud;
using Builtiful.Simulation.GitHub;
using Builtiful.Testing;
using Builtiful.Usage;
using Microsoft.Extensions.DependencyInjection;

namespace Builtiful.Silo.Tests;

/// <summary>
/// A warm pool in the embedded world, judged by the simulated GitHub's record (which runner ran the job) and the simulated
/// cloud's VMs: a queued job takes an idle pool VM and runs on it, the pool refills, idle time is never billed.
/// </summary>
public sealed class PoolTests(PoolTests.Host host) : IClassFixture<PoolTests.Host>
{
    private const string Label = "builtiful-2vcpu-ubuntu-2404";

    public sealed class Host : IAsyncLifetime
    {
        public BuiltifulInstance Builtiful { get; private set; } = null!;

        public async Task InitializeAsync() => Builtiful = await BuiltifulInstance.StartAsync(new Dictionary<string, string>
        {
            ["Simulation:BootDelay"] = "00:00:00.100",
            ["Simulation:GitHub:DefaultRunTime"] = "00:00:00.300",
            ["Pools:linux:MachineType"] = Label,
            ["Pools:linux:MinIdle"] = "1",
            ["Pools:linux:MaxIdle"] = "3",
            ["Pools:linux:IdleLifetime"] = "00:10:00",
            // Short holds, so a test that stops waiting does not keep a claim open for long.
            ["Claims:PoolWait"] = "00:00:02",
        });

        public Task DisposeAsync() => Builtiful.StopAsync();
    }

    private BuiltifulInstance Builtiful => host.Builtiful;

    private Task<SimulatedVm> IdlePoolVmAsync(Func<SimulatedVm, bool>? also = null) => Eventually.Until(
        () => Task.FromResult(Builtiful.Cloud.Vms.FirstOrDefault(v => v.Pool == "linux" && v.State == InstanceState.Running && v.ClaimedRunnerName is null && (also?.Invoke(v) ?? true))!),
        v => v is not null, "an idle pool VM is running");

    [Fact]
    public async Task A_queued_job_takes_an_idle_pool_vm_runs_on_it_and_the_pool_refills()
    {
        var idle = await IdlePoolVmAsync();
        // Ready: the VM's claim is held at the gateway, which the pool shows as idle.
        await Eventually.Until(() => Builtiful.AdminJsonAsync("/api/v1/pools/linux"), p => p?.GetProperty("idle").GetInt32() >= 1, "the pool shows an idle VM");
        var (installationId, repository) = await Builtiful.InstallOrganisationAsync();

        var jobId = await Builtiful.World.QueueJobAsync(new JobSpec { Repository = repository, Labels = [Label] });
        var job = await Builtiful.JobCompletes(jobId);

        Assert.Equal(CompletionCause.Ran, job.Cause);
        Assert.True(RunnerNames.TryParseLease(job.RunnerName, out var leaseId), $"job ran on {job.RunnerName}, not a Builtiful runner");
        var ranOn = Assert.Single(Builtiful.Cloud.Vms, v => v.ClaimedRunnerName == job.RunnerName);
        Assert.Equal("linux", ranOn.Pool);
        var runner = Assert.Single(Builtiful.World.Runners, r => r.Name == job.RunnerName);
        Assert.Equal(jobId, runner.JobId);
        Assert.Equal(repository, runner.Repository);

        // The VM adopted the lease's deadline, and goes after its job like any VM.
        var lease = await Builtiful.JsonAsync($"/api/v1/leases/{leaseId}");
        Assert.Equal(lease.GetProperty("expiresAt").GetDateTimeOffset(), ranOn.ExpiresAt);
        Assert.Equal("linux", lease.GetProperty("pool").GetString());
        await Eventually.Until(() => Task.FromResult(ranOn.State), s => s == InstanceState.Terminated, $"pool VM {ranOn.InstanceId} is terminated after its job");

        // The pool refills: another VM idles, with no runner config.
        await IdlePoolVmAsync(v => v != ranOn && v != idle);
        var pool = await Builtiful.JsonAsync("/api/v1/pools/linux");
        Assert.True(pool.GetProperty("hits").GetInt64() >= 1, pool.ToString());
        Assert.True(pool.GetProperty("launched").GetInt64() >= 2, pool.ToString());

        // Idle time is nobody's: the organisation is billed for its one job, and GitHub knows no runner for an idle pool VM.
        var usage = (await Eventually.Until(() => Builtiful.AdminJsonAsync($"/api/v1/organisations/{installationId}/usage?month={UsageMonth.Of(job.CompletedAt!.Value)}"),
            u => u?.GetProperty("jobs").GetInt32() >= 1, "the job is billed"))!.Value;
        Assert.Equal(1, usage.GetProperty("jobs").GetInt32());
        Assert.Equal(1, usage.GetProperty("minutes").GetProperty(Label).GetInt64());
        Assert.Equal(Builtiful.Cloud.Vms.Count(v => v.ClaimedRunnerName is not null), Builtiful.World.Runners.Count(r => RunnerNames.TryParseLease(r.Name, out _)));

        // Hits and idle VMs per pool, labelled by pool only.
        var metrics = await Eventually.Until(
            async () =>
            {
                using var response = await Builtiful.AdminGetAsync("/metrics", token: null);
                return await response.Content.ReadAsStringAsync();
            },
            text => text.Contains("builtiful_pool_idle_vms", StringComparison.Ordinal), "the pool's series are exported");
        Assert.Matches("builtiful_pool_takes_total\\{[^}]*pool=\"linux\"[^}]*result=\"hit\"[^}]*\\} [1-9]", metrics);
        Assert.Matches("builtiful_pool_idle_vms\\{[^}]*pool=\"linux\"", metrics);
        Assert.DoesNotContain(installationId.ToString(System.Globalization.CultureInfo.InvariantCulture), metrics, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_pool_vms_claim_with_a_wrong_token_or_from_another_instance_is_refused()
    {
        var vm = await IdlePoolVmAsync();
        var identity = Builtiful.App.Services.GetRequiredService<SimulatedInstanceIdentity>();

        using var wrongToken = await ClaimAsync(vm.LeaseId, new string('0', 64), vm, identity);
        Assert.Equal(HttpStatusCode.Forbidden, wrongToken.StatusCode);
        Assert.Contains("WrongToken", await wrongToken.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.Equal(InstanceState.Running, vm.State);

        using var unknown = await ClaimAsync(Guid.NewGuid(), new string('0', 64), vm, identity);
        Assert.Equal(HttpStatusCode.Forbidden, unknown.StatusCode);
        Assert.Contains("Unknown", await unknown.Content.ReadAsStringAsync(), StringComparison.Ordinal);

        // The right token from another instance: the token leaked, so the pool VM goes.
        var token = ClaimTokens.ForPoolVm(Builtiful.App.Services.GetRequiredService<Microsoft.Extensions.Options.IOptions<ClaimOptions>>().Value.KeyBytes(), vm.LeaseId);
        using var stranger = new SimulatedVm("sim-stranger", vm.LeaseId, new Dictionary<string, string>(), DateTimeOffset.UtcNow);
        using var wrongInstance = await ClaimAsync(vm.LeaseId, token, stranger, identity);
        Assert.Equal(HttpStatusCode.Forbidden, wrongInstance.StatusCode);
        Assert.Contains("WrongInstance", await wrongInstance.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        await Eventually.Until(() => Task.FromResult(vm.State), s => s == InstanceState.Terminated, $"pool VM {vm.InstanceId} is terminated");
        Assert.Null(vm.ClaimedRunnerName);
    }

    [Fact]
    public async Task Operators_see_pools_and_override_their_bounds_with_clear_errors()
    {
        var list = await Builtiful.JsonAsync("/api/v1/pools");
        var pool = Assert.Single(list.EnumerateArray());
        Assert.Equal("linux", pool.GetProperty("name").GetString());
        Assert.Equal(Label, pool.GetProperty("machineType").GetString());
        Assert.Equal("Simulated", pool.GetProperty("target").GetString());

        using var missing = await Builtiful.AdminGetAsync("/api/v1/pools/windows");
        Assert.Equal(HttpStatusCode.NotFound, missing.StatusCode);

        using var bad = await PutAsync("/api/v1/pools/linux", new { minIdle = 5, maxIdle = 2 });
        Assert.Equal(HttpStatusCode.BadRequest, bad.StatusCode);
        Assert.Contains("minIdle 5 is more than maxIdle 2", await bad.Content.ReadAsStringAsync(), StringComparison.Ordinal);

        using var set = await PutAsync("/api/v1/pools/linux", new { minIdle = 2 });
        Assert.Equal(HttpStatusCode.OK, set.StatusCode);
        var view = await set.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal(2, view.GetProperty("minIdle").GetInt32());
        Assert.True(view.GetProperty("overridden").GetBoolean());
        await Eventually.Until(() => Task.FromResult(Builtiful.Cloud.Vms.Count(v => v.Pool == "linux" && v.State == InstanceState.Running && v.ClaimedRunnerName is null)),
            n => n >= 2, "the pool keeps two idle VMs");

        using var back = await PutAsync("/api/v1/pools/linux", new { minIdle = 1 });
        Assert.Equal(HttpStatusCode.OK, back.StatusCode);
    }

    private async Task<HttpResponseMessage> PutAsync(string path, object body)
    {
        using var request = new HttpRequestMessage(HttpMethod.Put, path) { Content = JsonContent.Create(body) };
        request.Headers.Authorization = new("Bearer", BuiltifulInstance.AdminToken);
        return await Builtiful.Http.SendAsync(request);
    }

    private async Task<HttpResponseMessage> ClaimAsync(Guid vmId, string token, SimulatedVm vm, SimulatedInstanceIdentity identity)
    {
        var document = SimulatedInstanceIdentity.Document(vm);
        return await Builtiful.Http.PostAsJsonAsync("/api/runners/claim", new Dictionary<string, string>
        {
            ["leaseId"] = vmId.ToString("D"),
            ["token"] = token,
            ["document"] = Convert.ToBase64String(document),
            ["signature"] = identity.Sign(document),
            ["pool"] = "linux",
        });
    }
}

/// <summary>A pool VM no job takes is terminated at its idle deadline and replaced; the pool counts it expired.</summary>
public sealed class PoolExpiryTests : IAsyncLifetime
{
    private BuiltifulInstance _builtiful = null!;

    public async Task InitializeAsync() => _builtiful = await BuiltifulInstance.StartAsync(new Dictionary<string, string>
    {
        ["Simulation:BootDelay"] = "00:00:00.100",
        ["Pools:short:MachineType"] = "builtiful-2vcpu-ubuntu-2404",
        ["Pools:short:MinIdle"] = "1",
        ["Pools:short:MaxIdle"] = "1",
        ["Pools:short:IdleLifetime"] = "00:00:02",
        // The pool must end the VM itself: no in-guest watchdog to save it.
        ["Simulation:InGuestWatchdog"] = "false",
        ["Claims:PoolWait"] = "00:00:01",
    });

    public async Task DisposeAsync() => await _builtiful.StopAsync();

    [Fact]
    public async Task An_idle_pool_vm_past_its_idle_lifetime_is_terminated_and_replaced()
    {
        var first = await Eventually.Until(() => Task.FromResult(_builtiful.Cloud.Vms.FirstOrDefault(v => v.Pool == "short")!), v => v is not null, "the pool launched a VM");
        await Eventually.Until(() => Task.FromResult(first.State), s => s == InstanceState.Terminated, $"pool VM {first.InstanceId} is terminated", TimeSpan.FromSeconds(30));

        Assert.NotNull(first.ExpiresAt);
        // It goes once too little of its idle life is left to hand it out (a quarter of 2 s), and never after its deadline's grace.
        Assert.True(first.TerminatedAt >= first.ExpiresAt - TimeSpan.FromSeconds(0.5), $"terminated at {first.TerminatedAt:O}, long before its idle deadline {first.ExpiresAt:O}");
        Assert.True(first.TerminatedAt <= first.ExpiresAt + TimeSpan.FromSeconds(2), $"terminated at {first.TerminatedAt:O}, long after its idle deadline {first.ExpiresAt:O}");
        Assert.Null(first.ClaimedRunnerName);
        await Eventually.Until(() => Task.FromResult(_builtiful.Cloud.Vms.Count(v => v.Pool == "short")), n => n >= 2, "the pool replaced its VM");
        using var response = await _builtiful.AdminGetAsync("/api/v1/pools/short");
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.IsSuccessStatusCode, $"{(int)response.StatusCode} {body}");
        var pool = JsonDocument.Parse(body).RootElement;
        Assert.True(pool.GetProperty("expired").GetInt64() >= 1, pool.ToString());
    }
}
