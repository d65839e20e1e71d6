using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Builtiful.Providers;
using Builtiful.Retries;

namespace Builtiful.Simulation.Cloud;

/// <summary>How a simulated VM's claim ended: the config (granted), a refusal, or claims that kept failing.</summary>
public enum ClaimResult
{
    Granted = 0,
    Refused = 1,
    GaveUp = 2,
}

/// <summary>
/// What a booted simulated VM does before its runner starts, as the EC2 user data does: POSTs its lease id, claim token,
/// identity document and signature to the claim URL over real HTTP, retrying network errors and 503 with backoff,
/// a bounded number of times. The config it gets lives in memory only.
/// </summary>
internal sealed class SimulatedClaim(HttpClient http, SimulatedInstanceIdentity identity, SimulationOptions options, TimeProvider time)
{
    public async Task<(ClaimResult Result, string? EncodedJitConfig, string Detail)> ClaimAsync(SimulatedVm vm, ClaimTicket ticket, CancellationToken cancellationToken)
    {
        var document = SimulatedInstanceIdentity.Document(vm);
        var body = new Dictionary<string, string>
        {
            ["leaseId"] = vm.LeaseId.ToString("D"),
            ["token"] = ticket.Token,
            ["document"] = Convert.ToBase64String(document),
            ["signature"] = identity.Sign(document),
        };
        var backoff = new Backoff(options.ClaimRetryDelay, options.ClaimRetryMaxDelay < options.ClaimRetryDelay ? options.ClaimRetryDelay : options.ClaimRetryMaxDelay);
        var detail = "no claim sent";
        var previous = TimeSpan.Zero;
        for (var attempt = 1; attempt <= Math.Max(1, options.ClaimAttempts); attempt++)
        {
            try
            {
                using var response = await http.PostAsJsonAsync(ticket.Url, body, cancellationToken);
                if (response.StatusCode == HttpStatusCode.OK)
                {
                    using var granted = await JsonDocument.ParseAsync(await response.Content.ReadAsStreamAsync(cancellationToken), cancellationToken: cancellationToken);
                    return granted.RootElement.TryGetProperty("encodedJitConfig", out var config) && config.GetString() is { Length: > 0 } jit
                        ? (ClaimResult.Granted, jit, "granted")
                        : (ClaimResult.Refused, null, "a 200 answer without a runner config");
                }

                detail = $"answered {(int)response.StatusCode}";
                if (response.StatusCode is HttpStatusCode.BadRequest or HttpStatusCode.Forbidden or HttpStatusCode.NotFound)
                {
                    return (ClaimResult.Refused, null, detail);
                }
            }
            catch (Exception ex) when (ex is HttpRequestException || (ex is TaskCanceledException && !cancellationToken.IsCancellationRequested))
            {
                // The gateway is unreachable or slow (a dying silo, a restart): as curl's network errors, retried.
                detail = ex.Message;
            }

            previous = backoff.Delay(attempt, previous, Random.Shared);
            await Task.Delay(previous, time, cancellationToken);
        }

        return (ClaimResult.GaveUp, null, detail);
    }
}
