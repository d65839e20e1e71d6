using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json.Nodes;
using Builtiful.GitHub;
using Builtiful.Jobs;
using Builtiful.Leases;
using Builtiful.Organisations;
using Builtiful.Providers;
using Builtiful.Reconciliation;
using Builtiful.Silo;
using Builtiful.Simulation;
using Builtiful.Usage;

namespace Builtiful.Chaos;

/// <summary>
/// One chaos run against the all-in-one: GitHub's part (queued deliveries dropped, duplicated, reordered; jobs
/// cancelled) is played here, the runners' part by the simulator with its own faults switched on (capacity errors,
/// lost launch answers, failed terminations, VMs that never boot, deliveries lost, duplicated and reordered).
/// Durations are compressed (seconds instead of minutes) so a quick run fits in CI.
/// </summary>
public sealed class ChaosRun(ChaosSettings settings, TextWriter output)
{
    internal const string Secret = "chaos-webhook-secret";
    private static readonly TimeSpan ReconcilerPeriod = TimeSpan.FromSeconds(2);

    private readonly Random _random = new(settings.Seed);
    private readonly string _queuedTemplate = File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "Payloads", "workflow_job.queued.json"));
    private readonly string _completedTemplate = File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "Payloads", "workflow_job.completed.json"));
    private readonly string _installationTemplate = File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "Payloads", "installation.created.json"));
    private readonly System.Collections.Concurrent.ConcurrentBag<string> _abandoned = [];
    private int _driverFaults;

    public async Task<ChaosResult> RunAsync(CancellationToken cancellationToken = default)
    {
        var clock = Stopwatch.StartNew();
        await using var cluster = await ChaosCluster.StartAsync(settings, HostSettings(), output, cancellationToken);
        var grains = cluster.Grains;
        var cloud = cluster.Cloud;
        var ledger = cluster.Faults;

        var organisations = new List<long>();
        for (var i = 0; i < settings.Organisations; i++)
        {
            var installationId = 10_000 + i;
            var installation = JsonNode.Parse(_installationTemplate)!;
            installation["installation"]!["id"] = installationId;
            installation["installation"]!["account"]!["login"] = $"chaos-org-{i}";
            installation["installation"]!["account"]!["type"] = "Organization";
            await DeliverAsync(cluster, "installation", installation.ToJsonString(), cancellationToken);
            organisations.Add(installationId);
        }

        var jobs = Enumerable.Range(0, settings.Jobs)
            .Select(i => new ChaosJob(1_000_000 + i, organisations[i % organisations.Count], _random.NextDouble() < settings.CancelRate))
            .ToList();
        output.WriteLine($"chaos: {jobs.Count} jobs across {organisations.Count} organisations on {settings.Silos} silo(s), {jobs.Count(j => j.Cancelled)} to be cancelled");

        var startedMonth = UsageMonth.Of(DateTimeOffset.UtcNow);
        await QueueAllAsync(cluster, jobs, cancellationToken);
        var abandoned = _abandoned.ToList();
        var diagnosis = new ChaosDiagnosis(grains, cluster.EverySilo, cloud, cluster.Runs);
        var problems = await SettleAsync(grains, jobs, organisations, clock, diagnosis, cancellationToken);
        problems.AddRange(abandoned);

        // Every job is settled; the reconciler's reminder now has a few periods to sweep up strays (its own calls fail
        // too, by design). A VM still alive after that, or one that outlived its deadline plus a period, is a leak.
        var sweepDeadline = clock.Elapsed + (3 * ReconcilerPeriod);
        while (cloud.Vms.Any(vm => vm.State is not (InstanceState.Terminated or InstanceState.NotFound)) && clock.Elapsed < sweepDeadline)
        {
            await Task.Delay(TimeSpan.FromMilliseconds(200), cancellationToken);
        }

        var leakedVms = cloud.Vms.Where(vm => vm.State is not (InstanceState.Terminated or InstanceState.NotFound)
            || (vm.TerminatedAt is { } at && vm.ExpiresAt is { } deadline && at > deadline + ReconcilerPeriod)).ToList();
        foreach (var vm in leakedVms.Take(20))
        {
            problems.AddRange(await diagnosis.DescribeVmAsync(vm));
        }

        var stranded = 0;
        foreach (var job in jobs.Where(j => !j.Cancelled))
        {
            var view = await grains.GetGrain<IJobGrain>(job.Id).GetView();
            if (view is not { Status: JobStatus.Completed })
            {
                stranded++;
                problems.Add($"stranded: job {job.Id} ended {view?.Status.ToWire() ?? "unknown"}{(view?.RejectionReason is { } r ? $": {r}" : "")}");
                if (stranded <= 20)
                {
                    problems.AddRange(await diagnosis.DescribeJobAsync(job.Id, job.InstallationId));
                }
            }
        }

        var (duplicateUsage, billingProblems) = await ChaosBilling.CheckAsync(grains, cluster.Runs.Runs, organisations, [startedMonth, UsageMonth.Of(DateTimeOffset.UtcNow)]);
        problems.AddRange(billingProblems);

        var ran = jobs.Count(j => !j.Cancelled);
        var extra = Math.Max(0, cloud.Vms.Count - ran);
        var faults = ledger.Injected.ToDictionary(kv => kv.Key, kv => kv.Value, StringComparer.Ordinal);
        faults["github.queued-dropped-duplicated-reordered"] = _driverFaults;
        return new ChaosResult(jobs.Count, faults.Values.Sum(), leakedVms.Count, stranded, extra, (int)duplicateUsage, clock.Elapsed.TotalSeconds, faults, problems);
    }

    private Dictionary<string, string> HostSettings() => new()
    {
        ["Orleans:ClusterId"] = "chaos-" + settings.Seed.ToString(CultureInfo.InvariantCulture),
        ["GitHub:WebhookSecret"] = Secret,
        ["Admin:Token"] = "chaos-admin-token",
        ["Logging:LogLevel:Default"] = "Error",
        ["Logging:LogLevel:Orleans"] = Environment.GetEnvironmentVariable("CHAOS_ORLEANS_LOG") ?? "Error",
        ["Leases:BootDeadline"] = "00:00:05",
        ["Leases:MaxLifetime"] = "00:02:00",
        ["Leases:CheckPeriod"] = "00:00:01",
        ["Leases:TerminationPollInterval"] = "00:00:01",
        ["Leases:LaunchRetryDelay"] = "00:00:00.200",
        ["Reconciler:Period"] = "00:00:02",
        ["Organisations:MaxConcurrentVms"] = "10",
        ["Organisations:ProvisionAttempts"] = "5",
        ["Simulation:BootDelay"] = "00:00:00.200",
        ["Simulation:GitHub:DefaultRunTime"] = "00:00:00.300",
        ["Simulation:Faults:LaunchCapacityErrorRate"] = "0.1",
        ["Simulation:Faults:LostLaunchResponseRate"] = "0.05",
        ["Simulation:Faults:TerminateErrorRate"] = "0.1",
        ["Simulation:Faults:BootFailureRate"] = "0.05",
        ["Simulation:Faults:DeliveryDropRate"] = settings.DropRate.ToString(CultureInfo.InvariantCulture),
        ["Simulation:Faults:DeliveryDuplicateRate"] = settings.DuplicateRate.ToString(CultureInfo.InvariantCulture),
        ["Simulation:Faults:DeliveryReorderRate"] = settings.ReorderRate.ToString(CultureInfo.InvariantCulture),
        ["Simulation:Faults:RedeliveryDelay"] = "00:00:01",
        ["Simulation:Faults:Seed"] = settings.Seed.ToString(CultureInfo.InvariantCulture),
    };

    /// <summary>GitHub's side of queueing: every job's queued delivery, some lost and redelivered, doubled, or out of order; some jobs cancelled.</summary>
    private async Task QueueAllAsync(ChaosCluster cluster, List<ChaosJob> jobs, CancellationToken cancellationToken)
    {
        var deliveries = new List<Task>();
        var batches = jobs.Chunk(20).ToList();
        for (var b = 0; b < batches.Count; b++)
        {
            var batch = batches[b];
            if (settings.Silos > 1 && settings.KillSilo && b == batches.Count / 3)
            {
                await cluster.KillAndRestartSiloAsync(cancellationToken);
            }

            if (settings.Silos > 1 && settings.RestartDatabase && b == 2 * batches.Count / 3)
            {
                await cluster.RestartDatabaseAsync();
            }

            var order = batch.OrderBy(_ => _random.NextDouble() < settings.ReorderRate ? _random.Next() : 0).ToList();
            foreach (var job in order)
            {
                var dropped = _random.NextDouble() < settings.DropRate;
                var duplicated = _random.NextDouble() < settings.DuplicateRate;
                _driverFaults += (dropped ? 1 : 0) + (duplicated ? 1 : 0);
                var cancelAfter = job.Cancelled ? TimeSpan.FromMilliseconds(_random.Next(0, 1500)) : (TimeSpan?)null;
                deliveries.Add(DeliverJobAsync(cluster, job, dropped, duplicated, cancelAfter, cancellationToken));
            }

            _driverFaults += order.Zip(batch).Any(p => p.First != p.Second) ? 1 : 0;
            await Task.Delay(TimeSpan.FromMilliseconds(100), cancellationToken);
        }

        await Task.WhenAll(deliveries);
    }

    private async Task DeliverJobAsync(ChaosCluster http, ChaosJob job, bool dropped, bool duplicated, TimeSpan? cancelAfter, CancellationToken cancellationToken)
    {
        var queued = Payload(_queuedTemplate, job, "queued", null);
        if (dropped)
        {
            // The first attempt never arrived; GitHub's log shows it failed and it is redelivered.
            await Task.Delay(TimeSpan.FromSeconds(1), cancellationToken);
        }

        await DeliverAsync(http, "workflow_job", queued, cancellationToken);
        if (duplicated)
        {
            await DeliverAsync(http, "workflow_job", queued, cancellationToken);
        }

        if (cancelAfter is { } delay)
        {
            await Task.Delay(delay, cancellationToken);
            await DeliverAsync(http, "workflow_job", Payload(_completedTemplate, job, "completed", "cancelled"), cancellationToken);
        }
    }

    private async Task<List<string>> SettleAsync(IGrainFactory grains, List<ChaosJob> jobs, List<long> organisations, Stopwatch clock, ChaosDiagnosis diagnosis, CancellationToken cancellationToken)
    {
        var settled = new HashSet<long>();
        while (true)
        {
            var open = 0;
            foreach (var job in jobs.Where(j => !settled.Contains(j.Id)))
            {
                var view = await grains.GetGrain<IJobGrain>(job.Id).GetView();
                if (view is not { Status: JobStatus.Completed } && view?.RejectionReason is null)
                {
                    open++;
                }
                else if (view is { Status: JobStatus.Completed })
                {
                    // Completed is final: no need to ask again (a rejection is not, the job may yet run).
                    settled.Add(job.Id);
                }
            }

            var live = 0;
            foreach (var installationId in organisations)
            {
                var organisation = await grains.GetGrain<IOrganisationGrain>(installationId).GetView();
                live += organisation.LiveLeases + organisation.WaitingJobs;
            }

            if (open == 0 && live == 0)
            {
                return [];
            }

            if (clock.Elapsed > settings.Deadline)
            {
                var lines = new List<string> { $"not settled after {settings.Deadline}: {open} jobs still open, {live} leases or waiting jobs still live" };
                foreach (var job in jobs.Where(j => !settled.Contains(j.Id)).Take(20))
                {
                    lines.AddRange(await diagnosis.DescribeJobAsync(job.Id, job.InstallationId));
                }

                return lines;
            }

            output.WriteLine($"chaos: {clock.Elapsed.TotalSeconds:0}s: {open} jobs open, {live} leases or waiting jobs live");
            await Task.Delay(TimeSpan.FromSeconds(2), cancellationToken);
        }
    }

    private static string Payload(string template, ChaosJob job, string action, string? conclusion)
    {
        var root = JsonNode.Parse(template)!.AsObject();
        root["action"] = action;
        var workflowJob = root["workflow_job"]!.AsObject();
        workflowJob["id"] = job.Id;
        workflowJob["status"] = action;
        workflowJob["conclusion"] = conclusion;
        workflowJob["labels"] = new JsonArray(JsonValue.Create("builtiful-2vcpu-ubuntu-2404"));
        workflowJob["runner_name"] = null;
        root["installation"] = new JsonObject { ["id"] = job.InstallationId, ["node_id"] = "MDIzOkludGVncmF0aW9uSW5zdGFsbGF0aW9u" };
        if (root["repository"] is JsonObject repository)
        {
            // The recorded examples are public repositories, which organisations refuse unless they opt in.
            repository["private"] = true;
            repository["visibility"] = "private";
        }

        return root.ToJsonString();
    }

    private async Task DeliverAsync(ChaosCluster cluster, string @event, string payload, CancellationToken cancellationToken)
    {
        var body = Encoding.UTF8.GetBytes(payload);
        for (var attempt = 1; ; attempt++)
        {
            var http = cluster.AnyGateway();
            using var request = new HttpRequestMessage(HttpMethod.Post, "/api/github/webhooks") { Content = new ByteArrayContent(body) };
            request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
            request.Headers.Add("X-GitHub-Event", @event);
            request.Headers.Add("X-GitHub-Delivery", Guid.NewGuid().ToString());
            request.Headers.Add(WebhookSignature.Header, WebhookSignature.Sign(Secret, body));
            string failure;
            try
            {
                using var response = await http.SendAsync(request, cancellationToken);
                if (response.IsSuccessStatusCode)
                {
                    return;
                }

                failure = $"answered {(int)response.StatusCode}";
            }
            catch (HttpRequestException ex)
            {
                // A silo's gateway died with it; the delivery fails and is redelivered to another.
                failure = ex.Message;
            }
            catch (TaskCanceledException ex) when (!cancellationToken.IsCancellationRequested)
            {
                // No answer in time (GitHub waits 10 s): a failed delivery, redelivered like any other.
                failure = ex.Message;
            }

            if (attempt == 8)
            {
                var about = JsonNode.Parse(payload)!;
                _abandoned.Add($"{@event} {about["action"]} for job {about["workflow_job"]?["id"]} abandoned after {attempt} failed deliveries, the last {failure}");
                return;
            }

            // A refused delivery is redelivered, as Builtiful's lost-delivery recovery makes GitHub do.
            await Task.Delay(TimeSpan.FromSeconds(attempt), cancellationToken);
        }
    }

    private sealed record ChaosJob(long Id, long InstallationId, bool Cancelled);
}
