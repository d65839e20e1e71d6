using System.Net;
using System.Net.Http.Json;
using Builtiful.Simulation.Cloud;

namespace Builtiful.Bench.Load;

/// <summary>
/// The VMs' side of a run: each launched VM claims its runner config at the host's claim endpoint, as a booted VM does,
/// with an instance identity document signed here (what IMDS does for a real VM, so its CPU is not the host's). The
/// driver plays a job's deliveries only once its VM's claim is granted.
/// </summary>
public sealed partial class LoadDriver
{
    /// <summary>The "AWS" that signs the bench VMs' identity documents; the host trusts it (<see cref="HostSetting"/>).</summary>
    private static readonly SimulatedInstanceIdentity Identity = new();

    /// <summary>The host setting that makes its gateway trust the documents this driver signs.</summary>
    public static KeyValuePair<string, string?> HostSetting => Identity.GatewaySetting;

    private const int ClaimAttempts = 20;

    private SemaphoreSlim? _claimSlots;

    private long _claimFailures;

    /// <summary>VMs whose claim was never granted (their jobs are played all the same, so the run ends): 0 in a sound run.</summary>
    public long ClaimFailures => Interlocked.Read(ref _claimFailures);

    private async Task ClaimThenAsync(Hosting.LaunchRecord launch, Action<Hosting.LaunchRecord> onGranted)
    {
        _claimSlots ??= new SemaphoreSlim(Connections);
        await _claimSlots.WaitAsync();
        try
        {
            if (!await ClaimAsync(launch))
            {
                Interlocked.Increment(ref _claimFailures);
            }
        }
        finally
        {
            _claimSlots.Release();
        }

        onGranted(launch);
    }

    private async Task<bool> ClaimAsync(Hosting.LaunchRecord launch)
    {
        var document = SimulatedInstanceIdentity.Document(launch.InstanceId, launch.LaunchedAt);
        var body = new Dictionary<string, string>
        {
            ["leaseId"] = launch.LeaseId.ToString("D"),
            ["token"] = launch.ClaimToken,
            ["document"] = Convert.ToBase64String(document),
            ["signature"] = Identity.Sign(document),
        };
        for (var attempt = 1; attempt <= ClaimAttempts; attempt++)
        {
            try
            {
                using var response = await _http.PostAsJsonAsync("/api/runners/claim", body);
                if (response.StatusCode == HttpStatusCode.OK)
                {
                    return true;
                }

                if (response.StatusCode != HttpStatusCode.ServiceUnavailable)
                {
                    return false;
                }
            }
            catch (HttpRequestException)
            {
                // As a VM: ask again.
            }

            await Task.Delay(TimeSpan.FromMilliseconds(20 * attempt));
        }

        return false;
    }
}
