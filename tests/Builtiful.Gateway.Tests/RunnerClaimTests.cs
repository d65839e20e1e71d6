using System.Net;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using System.Text.Json;
using Builtiful.Gateway.Audit;
using Builtiful.Gateway.Claims;
using Builtiful.Leases;
using Builtiful.Providers;
using Builtiful.Simulation;
using Builtiful.Testing;
using Microsoft.Extensions.DependencyInjection;

namespace Builtiful.Gateway.Tests;

/// <summary>
/// <c>POST /api/runners/claim</c> over real HTTP into real Orleans: identity documents signed by a test "AWS" key whose
/// certificate the gateway trusts for region test-1. Judged by the simulated GitHub (the config registers a runner) and
/// the simulated cloud (refused claims that prove a leak terminate the VM), and by the audit log. Its VMs do not claim
/// by themselves, so each test claims in its VM's place; <see cref="SimulatedVmClaimTests"/> has VMs that do.
/// </summary>
public sealed class RunnerClaimTests(RunnerClaimTests.Host builtiful) : IClassFixture<RunnerClaimTests.Host>
{
    private const string Region = "test-1";

    public sealed class Host : RunningBuiltiful
    {
        public static readonly byte[] ClaimKey = RandomNumberGenerator.GetBytes(32);

        public static readonly RSA Aws = RSA.Create(2048);

        protected override IReadOnlyDictionary<string, string> Settings => new Dictionary<string, string>
        {
            ["Simulation:BootDelay"] = "00:00:00.100",
            ["Simulation:ClaimAfterBoot"] = "false",
            ["Claims:Key"] = Convert.ToBase64String(ClaimKey),
            [$"Claims:IdentityCertificates:{Region}"] = Certificate(Aws),
        };
    }

    private SimulatedComputeProvider Cloud => builtiful.Services.GetRequiredService<SimulatedComputeProvider>();

    [Fact]
    public async Task A_first_proven_claim_gets_a_working_config_once_and_a_second_claim_is_refused_audited_and_ends_the_VM()
    {
        var vm = await LaunchAsync();
        var token = ClaimTokens.For(Host.ClaimKey, vm.LeaseId, 1);

        using var granted = await ClaimAsync(vm.LeaseId, token, Document(vm.InstanceId), Host.Aws);

        Assert.Equal(HttpStatusCode.OK, granted.StatusCode);
        var body = await granted.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal(RunnerNames.ForLease(vm.LeaseId), body.GetProperty("runnerName").GetString());
        var config = body.GetProperty("encodedJitConfig").GetString()!;
        var session = builtiful.World.Connect(config);
        Assert.NotNull(session); // GitHub's own record: the config is a live registration of the lease's runner
        Assert.Equal(RunnerNames.ForLease(vm.LeaseId), session.RunnerName);

        using var second = await ClaimAsync(vm.LeaseId, token, Document(vm.InstanceId), Host.Aws);

        Assert.Equal(HttpStatusCode.Forbidden, second.StatusCode);
        Assert.Contains("AlreadyClaimed", await second.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        await Eventually.Until(() => Task.FromResult(vm.State), s => s == InstanceState.Terminated, $"the VM {vm.InstanceId} of a twice-claimed lease is terminated");
        var audited = Claims().Where(e => e.Targets.TryGetValue("lease", out var l) && l == vm.LeaseId.ToString("N")).ToList();
        Assert.Equal([200, 403], audited.Select(e => e.Status));
        Assert.All(audited, e => Assert.Equal("instance:" + vm.InstanceId, e.Actor));
        Assert.DoesNotContain(audited, e => e.ToString().Contains(config, StringComparison.Ordinal) || e.ToString().Contains(token, StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_forged_signature_or_a_wrong_token_is_refused_and_audited_and_the_VM_lives_on()
    {
        var vm = await LaunchAsync();
        using var stranger = RSA.Create(2048);

        using var forged = await ClaimAsync(vm.LeaseId, ClaimTokens.For(Host.ClaimKey, vm.LeaseId, 1), Document(vm.InstanceId), stranger);
        using var wrongToken = await ClaimAsync(vm.LeaseId, ClaimTokens.For(RandomNumberGenerator.GetBytes(32), vm.LeaseId, 1), Document(vm.InstanceId), Host.Aws);

        Assert.Equal(HttpStatusCode.Forbidden, forged.StatusCode);
        Assert.Contains("signature does not verify", await forged.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.Forbidden, wrongToken.StatusCode);
        Assert.Contains("WrongToken", await wrongToken.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        var audited = Claims().Where(e => e.Targets.TryGetValue("lease", out var l) && l == vm.LeaseId.ToString("N")).ToList();
        Assert.Equal([403, 403], audited.Select(e => e.Status));
        Assert.Equal("anonymous", audited[0].Actor);
        Assert.NotEqual(InstanceState.Terminated, vm.State);

        // The lease can still be claimed by its own VM: the refusals spent nothing.
        using var granted = await ClaimAsync(vm.LeaseId, ClaimTokens.For(Host.ClaimKey, vm.LeaseId, 1), Document(vm.InstanceId), Host.Aws);
        Assert.Equal(HttpStatusCode.OK, granted.StatusCode);
    }

    [Fact]
    public async Task The_right_token_from_another_instance_is_refused_audited_and_ends_the_leases_VM()
    {
        var vm = await LaunchAsync();

        using var other = await ClaimAsync(vm.LeaseId, ClaimTokens.For(Host.ClaimKey, vm.LeaseId, 1), Document("i-0another0instance"), Host.Aws);

        Assert.Equal(HttpStatusCode.Forbidden, other.StatusCode);
        Assert.Contains("WrongInstance", await other.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        await Eventually.Until(() => Task.FromResult(vm.State), s => s == InstanceState.Terminated, $"the VM {vm.InstanceId} whose token another instance used is terminated");
        Assert.Contains(Claims(), e => e.Actor == "instance:i-0another0instance" && e.Status == 403);
    }

    [Fact]
    public async Task A_document_for_a_region_without_a_certificate_is_refused()
    {
        var document = Encoding.UTF8.GetBytes("""{"instanceId":"i-1","region":"nowhere-1","accountId":"1"}""");

        using var refused = await ClaimAsync(Guid.NewGuid(), "00", document, Host.Aws);

        Assert.Equal(HttpStatusCode.Forbidden, refused.StatusCode);
        Assert.Contains("no identity certificate", await refused.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    private async Task<SimulatedVm> LaunchAsync()
    {
        var (installationId, repository) = await builtiful.InstallOrganisationAsync();
        var jobId = Random.Shared.NextInt64(1_000_000, long.MaxValue);
        using var delivered = await builtiful.DeliverAsync("workflow_job", Payloads.WorkflowJob("workflow_job.queued.5.json", jobId, installationId, repository: repository));
        delivered.EnsureSuccessStatusCode();
        var vms = await Eventually.Until(
            () => Task.FromResult(Cloud.Vms.Where(v => v.Tags.TryGetValue(InstanceTags.Job, out var j) && j == jobId.ToString(System.Globalization.CultureInfo.InvariantCulture)).ToList()),
            found => found.Count > 0 && found[0].State == InstanceState.Running, $"a running VM for job {jobId}");
        return vms.Single();
    }

    private IReadOnlyList<AuditEvent> Claims() =>
        [.. builtiful.Services.GetRequiredService<IAuditLog>().Recent.Where(e => e.Route == ClaimEndpoint.Path)];

    private Task<HttpResponseMessage> ClaimAsync(Guid leaseId, string token, byte[] document, RSA signer) =>
        builtiful.Http.PostAsJsonAsync(ClaimEndpoint.Path, new
        {
            leaseId,
            token,
            document = Convert.ToBase64String(document),
            signature = Convert.ToBase64String(signer.SignData(document, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1)),
        });

    private static byte[] Document(string instanceId) => Encoding.UTF8.GetBytes(
        $$"""{"accountId":"123456789012","instanceId":"{{instanceId}}","region":"{{Region}}","pendingTime":"2026-12-05T19:00:00Z"}""");

    private static string Certificate(RSA key)
    {
        var request = new CertificateRequest("CN=Test AWS instance identity", key, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        using var certificate = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(30));
        return certificate.ExportCertificatePem();
    }
}
