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

/// <summary>A claim's end: the config and runner name when granted, and the lease's deadline a pool VM adopts.</summary>
public sealed record ClaimEnd(ClaimResult Result, string? EncodedJitConfig, string? RunnerName, DateTimeOffset? ExpiresAt, string Detail)
{
    public override string ToString() => $"ClaimEnd {{ Result = {Result}, RunnerName = {RunnerName}, EncodedJitConfig = [redacted], Detail = {Detail} }}";
}

/// <summary>
/// What a booted simulated VM does before its runner starts, as the EC2 user data does: POSTs its lease id, claim token,
/// identity document and signature to the claim URL over real HTTP, retrying network errors and 503 with backoff,
/// a bounded number of times. A pool VM (its ticket names a pool) claims again at once after each 202 "wait", for as long
/// as it lives, until a lease takes it. The config it gets lives in memory only.
/// </summary>
internal sealed class SimulatedClaim(HttpClient http, SimulatedInstanceIdentity identity, SimulationOptions options, TimeProvider time)
{
    public async Task<ClaimEnd> ClaimAsync(SimulatedVm vm, ClaimTicket ticket, CancellationToken cancellationToken)
    {
        var document = SimulatedInstanceIdentity.Document(vm);
        var body = new Dictionary<string, string>
        {
            ["leaseId"] = vm.LeaseId.ToString("D"),
            ["token"] = ticket.Token,
            ["document"] = Convert.ToBase64String(document),
            ["signature"] = identity.Sign(document),
        };
        if (ticket.Pool is { } pool)
        {
            body["pool"] = pool;
        }

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
                    var root = granted.RootElement;
                    DateTimeOffset? expiresAt = root.TryGetProperty("expiresAt", out var e) && e.ValueKind == JsonValueKind.String ? e.GetDateTimeOffset() : null;
                    var runner = root.TryGetProperty("runnerName", out var r) ? r.GetString() : null;
                    return root.TryGetProperty("encodedJitConfig", out var config) && config.GetString() is { Length: > 0 } jit
                        ? new ClaimEnd(ClaimResult.Granted, jit, runner, expiresAt, "granted")
                        : new ClaimEnd(ClaimResult.Refused, null, null, null, "a 200 answer without a runner config");
                }

                detail = $"answered {(int)response.StatusCode}";
                if (response.StatusCode == HttpStatusCode.Accepted && ticket.Pool is not null)
                {
                    // A pool VM no job took yet: the gateway held the claim already, so ask again at once (not an attempt).
                    attempt = 0;
                    previous = TimeSpan.Zero;
                    continue;
                }

                if (response.StatusCode is HttpStatusCode.BadRequest or HttpStatusCode.Forbidden or HttpStatusCode.NotFound)
                {
                    return new ClaimEnd(ClaimResult.Refused, null, null, null, detail);
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

        return new ClaimEnd(ClaimResult.GaveUp, null, null, null, detail);
    }
}
