using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Builtiful.Gateway.Audit;
using Builtiful.Gateway.Claims;
using Builtiful.Leases;
using Builtiful.Providers;
using Builtiful.Simulation.Cloud;
using Builtiful.Simulation.GitHub;
using Builtiful.Testing;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;

namespace Builtiful.Gateway.Tests;

/// <summary>
/// The simulated cloud's VMs claim as EC2 VMs do: after boot, over real HTTP to the gateway, with an identity document
/// the cloud signs. Judged by GitHub's record (the runner is registered only once its VM claimed, after the launch), the
/// cloud's record and the audit log.
/// </summary>
public sealed class SimulatedVmClaimTests : IAsyncLifetime
{
    private const string Label = "builtiful-2vcpu-ubuntu-2404";
    private BuiltifulInstance _builtiful = null!;

    public async Task InitializeAsync() => _builtiful = await BuiltifulInstance.StartAsync(new Dictionary<string, string>
    {
        ["Simulation:BootDelay"] = "00:00:00.100",
        ["Simulation:GitHub:DefaultRunTime"] = "00:00:00.200",
        ["Leases:CheckPeriod"] = "00:00:01",
        ["Leases:BootDeadline"] = "00:00:05",
    });

    public async Task DisposeAsync() => await _builtiful.StopAsync();

    [Fact]
    public async Task A_booted_VM_claims_its_runner_config_once_through_the_gateway_and_runs_the_job()
    {
        var (_, repository) = await _builtiful.InstallOrganisationAsync();
        var jobId = await _builtiful.World.QueueJobAsync(new JobSpec { Repository = repository, Labels = [Label] });

        var job = await _builtiful.JobCompletes(jobId);

        Assert.Equal("success", job.Conclusion);
        Assert.True(RunnerNames.TryParseLease(job.RunnerName, out var leaseId), $"job ran on {job.RunnerName}");
        var vm = Assert.Single(_builtiful.Cloud.Vms, v => v.LeaseId == leaseId);
        var runner = Assert.Single(_builtiful.World.Runners, r => r.Name == job.RunnerName);
        Assert.True(runner.RegisteredAt >= vm.LaunchedAt, "the runner config was minted only after the VM was launched");
        var claims = Claims(leaseId);
        var granted = Assert.Single(claims);
        Assert.Equal(200, granted.Status);
        Assert.Equal("instance:" + vm.InstanceId, granted.Actor);
    }

    [Fact]
    public async Task A_VM_whose_claim_is_refused_powers_off_and_the_job_runs_on_another_VM()
    {
        // The gateway first trusts another "AWS" for the simulated region: the VM's document does not verify.
        var identity = _builtiful.App.Services.GetRequiredService<SimulatedInstanceIdentity>();
        var key = identity.GatewaySetting.Key;
        Trust(key, OtherCertificate());
        var (_, repository) = await _builtiful.InstallOrganisationAsync();
        var jobId = await _builtiful.World.QueueJobAsync(new JobSpec { Repository = repository, Labels = [Label] });
        var refusedVm = await Eventually.Until(
            () => Task.FromResult(_builtiful.Cloud.Vms.FirstOrDefault(v => v.Tags.TryGetValue(InstanceTags.Job, out var j) && j == jobId.ToString(System.Globalization.CultureInfo.InvariantCulture))),
            v => v is { State: InstanceState.Terminated }, $"the first VM for job {jobId} powers itself off after its claim is refused");
        Assert.Contains(Claims(refusedVm!.LeaseId), e => e.Status == 403);

        Trust(key, identity.CertificatePem);
        var job = await _builtiful.JobCompletes(jobId, TimeSpan.FromSeconds(90));

        Assert.Equal("success", job.Conclusion);
        Assert.NotEqual(RunnerNames.ForLease(refusedVm.LeaseId), job.RunnerName);
        Assert.DoesNotContain(_builtiful.World.Runners, r => r.Name == RunnerNames.ForLease(refusedVm.LeaseId)); // never minted
    }

    /// <summary>Sets the gateway's certificate for the region and reloads, so the gateway's options monitor sees it.</summary>
    private void Trust(string key, string certificate)
    {
        var configuration = (IConfigurationRoot)_builtiful.App.Services.GetRequiredService<IConfiguration>();
        configuration[key] = certificate;
        configuration.Reload();
    }

    private List<AuditEvent> Claims(Guid leaseId) =>
        [.. _builtiful.App.Services.GetRequiredService<IAuditLog>().Recent
            .Where(e => e.Route == ClaimEndpoint.Path && e.Targets.TryGetValue("lease", out var l) && l == leaseId.ToString("N"))];

    private static string OtherCertificate()
    {
        using var key = RSA.Create(2048);
        var request = new CertificateRequest("CN=Not the simulated cloud", key, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        using var certificate = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(1));
        return certificate.ExportCertificatePem();
    }
}
