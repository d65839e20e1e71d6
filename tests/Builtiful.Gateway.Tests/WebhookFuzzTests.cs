using System.Diagnostics;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using Builtiful.GitHub;
using Builtiful.Simulation;
using Builtiful.Testing;
using Microsoft.Extensions.DependencyInjection;
using Xunit.Abstractions;

namespace Builtiful.Gateway.Tests;

/// <summary>
/// Hostile input against the all-in-one's webhook endpoint, from a fixed seed: never a 5xx, never a crash, and
/// nothing refused leaves a trace; no VM is ever launched for an installation that was never created.
/// </summary>
public sealed class WebhookFuzzTests(WebhookFuzzTests.Host builtiful, ITestOutputHelper output) : IClassFixture<WebhookFuzzTests.Host>
{
    public const int Seed = 20_261_105;
    public const int MaxBytes = 256 * 1024;

    public sealed class Host : RunningBuiltiful
    {
        protected override IReadOnlyDictionary<string, string> Settings => new Dictionary<string, string>
        {
            ["Gateway:MaxWebhookBytes"] = MaxBytes.ToString(System.Globalization.CultureInfo.InvariantCulture),
        };
    }

    [Fact]
    public async Task Hostile_deliveries_never_get_a_5xx_and_what_is_refused_changes_nothing()
    {
        var generator = new HostileDeliveries(Seed, RunningBuiltiful.WebhookSecret, MaxBytes);
        var results = new List<(HostileDelivery Delivery, string Outcome)>();
        foreach (var delivery in generator.Generate())
        {
            results.Add((delivery, await SendAsync(delivery)));
        }

        var replay = await ReplayAsync(generator);
        Report(results);

        Assert.Empty(results.Where(r => r.Outcome.StartsWith('5') || r.Outcome == "timeout").Select(r => $"{r.Outcome} ← {r.Delivery}"));
        using (var health = await builtiful.Http.GetAsync("/healthz"))
        {
            Assert.Equal(HttpStatusCode.OK, health.StatusCode);
        }

        var refused = results.Where(r => !r.Outcome.StartsWith('2')).ToList();
        foreach (var (delivery, outcome) in refused)
        {
            foreach (var jobId in delivery.JobIds)
            {
                using var job = await builtiful.AdminGetAsync($"/api/v1/jobs/{jobId}");
                Assert.True(job.StatusCode == HttpStatusCode.NotFound, $"job {jobId} exists after a refused delivery ({outcome}): {delivery}");
            }

            foreach (var installationId in delivery.InstallationIds)
            {
                using var organisation = await builtiful.AdminGetAsync($"/api/v1/organisations/{installationId}");
                Assert.True(organisation.StatusCode == HttpStatusCode.NotFound, $"installation {installationId} exists after a refused delivery ({outcome}): {delivery}");
            }
        }

        foreach (var (delivery, _) in results.Where(r => r.Delivery.Category == "forged-installation" && r.Outcome.StartsWith('2')))
        {
            var job = (await builtiful.AdminJsonAsync($"/api/v1/jobs/{delivery.JobIds[0]}"))!.Value;
            Assert.Equal(JsonValueKind.Null, job.GetProperty("leaseId").ValueKind);
            Assert.Null(await builtiful.AdminJsonAsync($"/api/v1/organisations/{delivery.InstallationIds[0]}"));
        }

        // Strangers get nothing: every VM the simulated cloud ever launched belongs to an installation that was created.
        foreach (var vm in builtiful.Services.GetRequiredService<SimulatedComputeProvider>().Vms)
        {
            var lease = (await builtiful.AdminJsonAsync($"/api/v1/leases/{vm.LeaseId}"))!.Value;
            var installationId = lease.GetProperty("installationId").GetInt64();
            Assert.NotNull(await builtiful.AdminJsonAsync($"/api/v1/organisations/{installationId}"));
        }

        Assert.Equal(1, await LeasesForAsync(replay.InstallationId, replay.JobId));
        await AssertStillServesAsync(generator);
    }

    /// <summary>The same signed delivery, same delivery id, ten times: one job, one lease.</summary>
    private async Task<(long InstallationId, long JobId)> ReplayAsync(HostileDeliveries generator)
    {
        var installationId = generator.NewId();
        var installation = Encoding.UTF8.GetBytes(Payloads.Installation("installation.created.1.json", installationId));
        var (job, jobId, _) = generator.ValidJob(installationId);
        var installationDelivery = Guid.NewGuid().ToString();
        var jobDelivery = Guid.NewGuid().ToString();
        for (var i = 0; i < 10; i++)
        {
            Assert.Equal("200", await SendAsync(new HostileDelivery("replay", "installation.created") { Event = "installation", Body = installation, DeliveryId = installationDelivery }));
            Assert.Equal("200", await SendAsync(new HostileDelivery("replay", "queued job") { Body = job, DeliveryId = jobDelivery }));
        }

        return (installationId, jobId);
    }

    private async Task AssertStillServesAsync(HostileDeliveries generator)
    {
        var installationId = generator.NewId();
        Assert.Equal("200", await SendAsync(new HostileDelivery("control", "installation") { Event = "installation", Body = Encoding.UTF8.GetBytes(Payloads.Installation("installation.created.1.json", installationId)) }));
        var (job, jobId, _) = generator.ValidJob(installationId);
        Assert.Equal("200", await SendAsync(new HostileDelivery("control", "queued job") { Body = job }));
        Assert.Equal(1, await LeasesForAsync(installationId, jobId));
    }

    private async Task<int> LeasesForAsync(long installationId, long jobId)
    {
        var organisation = (await builtiful.AdminJsonAsync($"/api/v1/organisations/{installationId}"))!.Value;
        var count = 0;
        foreach (var leaseId in organisation.GetProperty("leaseIds").EnumerateArray())
        {
            var lease = (await builtiful.AdminJsonAsync($"/api/v1/leases/{leaseId.GetString()}"))!.Value;
            count += lease.GetProperty("launchedForJobId").GetInt64() == jobId ? 1 : 0;
        }

        return count;
    }

    private async Task<string> SendAsync(HostileDelivery delivery)
    {
        if (delivery.Raw is { } raw)
        {
            return await SendRawAsync(raw);
        }

        using var request = new HttpRequestMessage(new HttpMethod(delivery.Method), "/api/github/webhooks");
        if (delivery.Method is not ("GET" or "HEAD"))
        {
            request.Content = delivery.Chunked ? new StreamContent(new MemoryStream(delivery.Body)) : new ByteArrayContent(delivery.Body);
            request.Headers.TransferEncodingChunked = delivery.Chunked;
            if (delivery.ContentType is { } contentType)
            {
                request.Content.Headers.TryAddWithoutValidation("Content-Type", contentType);
            }
        }

        if (delivery.Event is { } @event)
        {
            request.Headers.TryAddWithoutValidation("X-GitHub-Event", @event);
        }

        request.Headers.TryAddWithoutValidation("X-GitHub-Delivery", delivery.DeliveryId ?? Guid.NewGuid().ToString());
        request.Headers.UserAgent.Add(new ProductInfoHeaderValue("GitHub-Hookshot", "fuzz"));
        var signature = delivery.Signing switch
        {
            Signing.Valid => WebhookSignature.Sign(RunningBuiltiful.WebhookSecret, delivery.Body),
            Signing.WrongSecret => WebhookSignature.Sign("not-the-secret", delivery.Body),
            Signing.Custom => delivery.Signature,
            _ => null,
        };
        if (signature is not null)
        {
            request.Headers.TryAddWithoutValidation(WebhookSignature.Header, signature);
        }

        try
        {
            using var response = await builtiful.Http.SendAsync(request);
            return ((int)response.StatusCode).ToString(System.Globalization.CultureInfo.InvariantCulture);
        }
        catch (HttpRequestException ex) when (ex.HttpRequestError is HttpRequestError.ResponseEnded or HttpRequestError.ConnectionError)
        {
            return "closed";
        }
    }

    /// <summary>Raw bytes over a socket; the status code of the first response, "closed" when the server hung up without one.</summary>
    private async Task<string> SendRawAsync(byte[] request)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        using var tcp = new TcpClient();
        await tcp.ConnectAsync(IPAddress.Loopback, builtiful.BaseAddress.Port, timeout.Token);
        var stream = tcp.GetStream();
        try
        {
            // The send side stays open: a half-close reads to Kestrel as the client going away, which would hide the answer.
            await stream.WriteAsync(request, timeout.Token);
            var response = new MemoryStream();
            await stream.CopyToAsync(response, timeout.Token);
            var text = Encoding.Latin1.GetString(response.ToArray());
            return text.StartsWith("HTTP/1.", StringComparison.Ordinal) && text.Length >= 12 ? text[9..12] : "closed";
        }
        catch (OperationCanceledException)
        {
            return "timeout";
        }
        catch (IOException)
        {
            return "closed";
        }
    }

    private void Report(List<(HostileDelivery Delivery, string Outcome)> results)
    {
        var lines = new StringBuilder();
        lines.AppendLine($"Webhook fuzz, seed {Seed}: {results.Count} hostile inputs tried");
        foreach (var category in results.GroupBy(r => r.Delivery.Category).OrderBy(g => g.Key, StringComparer.Ordinal))
        {
            var histogram = string.Join(", ", category.GroupBy(r => r.Outcome).OrderBy(g => g.Key, StringComparer.Ordinal).Select(g => $"{g.Key}×{g.Count()}"));
            lines.AppendLine($"  {category.Key,-20} {category.Count(),5}: {histogram}");
        }

        lines.Append("  all outcomes: ").AppendJoin(", ", results.GroupBy(r => r.Outcome).OrderBy(g => g.Key, StringComparer.Ordinal).Select(g => $"{g.Key}×{g.Count()}"));
        output.WriteLine(lines.ToString());
        Console.WriteLine(lines.ToString());
        Debug.WriteLine(lines.ToString());
    }
}
