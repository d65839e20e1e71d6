using System.Diagnostics;
using System.Net;
using System.Text.Json.Nodes;
using Builtiful.Compute.Ec2.Api;
using Builtiful.Compute.Ec2.Options;
using Builtiful.Simulation.GitHub;
using Builtiful.Testing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace Builtiful.Bench.Ec2;

/// <summary>
/// EC2 as the all-in-one calls it, against a moto_server this bench starts: the API calls one job's full lifecycle
/// costs, by action, and how fast a burst of launches drains through the silo's RunInstances bucket compared with
/// the bucket's own ceiling. moto answers in milliseconds and models no limits, so the bucket is the only brake.
/// </summary>
public static class Ec2Scenario
{
    private static readonly string[] Zones = ["us-east-1a", "us-east-1b"];

    /// <summary>Null when moto_server is not on PATH; the caller reports the skip.</summary>
    public static async Task<JsonObject?> RunAsync(bool quick)
    {
        if (MotoServer.Executable is null)
        {
            return null;
        }

        // --quick keeps the whole bench under 3 minutes: 8 launches drain in 1.5 s at 5 burst and 2/s, 40 in 17.5 s.
        var jobs = quick ? 3 : 20;
        var launches = quick ? 8 : 40;
        var moto = new MotoServer { CreateDefaultNetworks = false };
        await moto.InitializeAsync();
        try
        {
            var network = await moto.CreateRunnerNetworkAsync(MotoServer.Region, Zones);
            var log = new Ec2CallLog();
            var builtiful = await BuiltifulInstance.StartAsync(Settings(moto, network), builder =>
                builder.Services.AddSingleton(new Ec2Transport { HttpClientFactory = log, Credentials = MotoServer.Credentials }));
            try
            {
                var result = new JsonObject
                {
                    ["moto"] = "moto_server 5.2.1 on loopback: answers in milliseconds, terminates at once, models no EC2 limits or latency",
                    ["host"] = "the all-in-one in this process (Compute:Provider=Ec2, GitHub simulated), the SDK's own HTTP stack under a request log",
                };
                result["lifecycle"] = await LifecycleAsync(builtiful, log, jobs);
                result["launch_burst"] = await LaunchBurstAsync(builtiful, log, launches);
                return result;
            }
            finally
            {
                await builtiful.StopAsync();
            }
        }
        finally
        {
            await moto.DisposeAsync();
        }
    }

    private static Dictionary<string, string> Settings(MotoServer moto, MotoRunnerNetwork network)
    {
        var settings = new Dictionary<string, string>
        {
            ["Compute:Provider"] = "Ec2",
            ["Compute:Ec2:Region"] = MotoServer.Region,
            ["Compute:Ec2:ClusterName"] = "bench",
            ["Compute:Ec2:AllowEphemeralState"] = "true",
            ["Compute:Ec2:ServiceUrl"] = moto.Url.ToString(),
            ["Compute:Ec2:SecurityGroupId"] = network.SecurityGroupId,
            ["Compute:Ec2:Images:x64"] = moto.ImageId,
            ["GitHub:Mode"] = "Simulated",
            ["Leases:CheckPeriod"] = "00:00:01",
            ["Leases:TerminationPollInterval"] = "00:00:01",
            ["Organisations:MaxConcurrentVms"] = "1000",
            // A sweep is per period, not per job: kept out of the window (it costs one paged DescribeInstances per target).
            ["Reconciler:Period"] = "01:00:00",
            ["Logging:LogLevel:Default"] = "Warning",
            ["Logging:LogLevel:Orleans"] = "Error",
            ["Logging:LogLevel:Orleans.Runtime.Silo"] = "Error",
            ["Logging:LogLevel:Microsoft"] = "Warning",
        };
        for (var i = 0; i < network.SubnetIds.Count; i++)
        {
            settings[$"Compute:Ec2:SubnetIds:{i}"] = network.SubnetIds[i];
        }

        return settings;
    }

    /// <summary>Jobs one after another (no batching between them): queued, VM up, in_progress, completed, VM confirmed gone.</summary>
    private static async Task<JsonObject> LifecycleAsync(BuiltifulInstance builtiful, Ec2CallLog log, int jobs)
    {
        var (installationId, repository) = await InstallAsync(builtiful);

        // The first job also pays the per-process costs (zone names from DescribeSubnets): counted apart.
        await OneJobAsync(builtiful, installationId, repository);
        var first = ByAction(log.Calls, 1);
        log.Clear();

        var clock = Stopwatch.StartNew();
        for (var i = 0; i < jobs; i++)
        {
            await OneJobAsync(builtiful, installationId, repository);
        }

        var calls = log.Calls;
        var byAction = ByAction(calls, jobs);
        return new JsonObject
        {
            ["jobs"] = jobs,
            ["calls_per_job"] = Math.Round((double)calls.Count / jobs, 2),
            ["calls_per_job_by_action"] = byAction,
            ["first_job_calls_by_action"] = first,
            ["failed_calls"] = calls.Count(c => c.Status >= 400),
            ["seconds_per_job"] = Math.Round(clock.Elapsed.TotalSeconds / jobs, 2),
            ["note"] = "moto shows an instance terminated on the first read after TerminateInstances; on EC2 it stays shutting-down for a while, and each termination poll (Leases:TerminationPollInterval) then costs one DescribeInstances more",
        };
    }

    /// <summary>Many queued jobs at once: every lease launches, and the silo's RunInstances bucket paces them.</summary>
    private static async Task<JsonObject> LaunchBurstAsync(BuiltifulInstance builtiful, Ec2CallLog log, int launches)
    {
        var limits = builtiful.App.Services.GetRequiredService<IOptions<Ec2Options>>().Value.ApiLimits.RunInstances;
        var bucket = builtiful.App.Services.GetRequiredService<Ec2RateLimits>().For($"default/{MotoServer.Region}").RunInstances;
        await Eventually.Until(() => Task.FromResult(bucket.Available), available => available >= limits.Burst - 0.01, "the RunInstances bucket is full again");
        var (installationId, repository) = await InstallAsync(builtiful);
        log.Clear();

        var sent = log.Now;
        await Task.WhenAll(Enumerable.Range(0, launches).Select(async _ =>
        {
            using var response = await builtiful.DeliverAsync("workflow_job", Payloads.WorkflowJob("workflow_job.queued.5.json", NewId(), installationId, repository: repository));
            Expect(response, "queued");
        }));
        var runs = await Eventually.Until(
            () => Task.FromResult(log.CallsTo("RunInstances")), r => r.Count >= launches, $"{launches} RunInstances calls are answered", TimeSpan.FromSeconds(120));

        var firstSent = runs.Min(r => r.SentAt);
        var lastAnswered = runs.Max(r => r.AnsweredAt);
        var seconds = (lastAnswered - firstSent).TotalSeconds;

        // The bucket starts full: the first Burst go at once, then one every 1/PerSecond s, so the last starts at (N - Burst) / PerSecond.
        var ceilingSeconds = Math.Max(0, launches - limits.Burst) / limits.PerSecond;
        return new JsonObject
        {
            ["launches"] = launches,
            ["bucket_burst"] = limits.Burst,
            ["bucket_per_s"] = limits.PerSecond,
            ["seconds_first_to_last_run_instances"] = Math.Round(seconds, 2),
            ["launches_per_s"] = Math.Round(launches / seconds, 3),
            ["bucket_ceiling_seconds"] = Math.Round(ceilingSeconds, 2),
            ["bucket_ceiling_launches_per_s"] = Math.Round(launches / ceilingSeconds, 3),
            ["bucket_sustained_launches_per_s"] = limits.PerSecond,
            ["seconds_from_first_delivery_to_last_launch"] = Math.Round((lastAnswered - sent).TotalSeconds, 2),
            ["run_instances_failed"] = runs.Count(r => r.Status >= 400),
            ["run_instances_p50_ms"] = Math.Round(Percentile(runs.Select(r => (r.AnsweredAt - r.SentAt).TotalMilliseconds), 0.5), 1),
        };
    }

    private static async Task OneJobAsync(BuiltifulInstance builtiful, long installationId, string repository)
    {
        var jobId = NewId();
        using (var queued = await builtiful.DeliverAsync("workflow_job", Payloads.WorkflowJob("workflow_job.queued.5.json", jobId, installationId, repository: repository)))
        {
            Expect(queued, "queued");
        }

        var leaseId = await Eventually.Until(
            async () => await LeaseOfAsync(builtiful, installationId, jobId),
            id => id is not null,
            $"job {jobId} gets a lease");
        var lease = await Eventually.Until(
            async () => (await builtiful.AdminJsonAsync($"/api/v1/leases/{leaseId}"))!.Value,
            l => l.GetProperty("phase").GetString() == "idle",
            $"lease {leaseId} sees its VM running");
        var runner = lease.GetProperty("runnerName").GetString();
        using (var started = await builtiful.DeliverAsync("workflow_job", Payloads.WorkflowJob("workflow_job.in_progress.0.json", jobId, installationId, runnerName: runner, repository: repository)))
        {
            Expect(started, "in_progress");
        }

        using (var completed = await builtiful.DeliverAsync("workflow_job", Payloads.WorkflowJob("workflow_job.completed.1.json", jobId, installationId, runnerName: runner, repository: repository)))
        {
            Expect(completed, "completed");
        }

        await Eventually.Until(
            async () => (await builtiful.AdminJsonAsync($"/api/v1/leases/{leaseId}"))!.Value.GetProperty("phase").GetString(),
            phase => phase == "terminated",
            $"lease {leaseId} is terminated");
    }

    private static async Task<string?> LeaseOfAsync(BuiltifulInstance builtiful, long installationId, long jobId)
    {
        var organisation = (await builtiful.AdminJsonAsync($"/api/v1/organisations/{installationId}"))!.Value;
        foreach (var id in organisation.GetProperty("leaseIds").EnumerateArray())
        {
            var lease = (await builtiful.AdminJsonAsync($"/api/v1/leases/{id.GetString()}"))!.Value;
            if (lease.GetProperty("launchedForJobId").GetInt64() == jobId)
            {
                return id.GetString();
            }
        }

        return null;
    }

    /// <summary>
    /// The recorded installation (a user account) under a login of its own, made known to the simulated GitHub first
    /// with one private repository, so the App client can mint the JIT runner configs the instances' user data carries.
    /// </summary>
    private static async Task<(long InstallationId, string Repository)> InstallAsync(BuiltifulInstance builtiful)
    {
        var installationId = NewId();
        var login = "bench-" + Guid.NewGuid().ToString("N")[..8];
        var repository = login + "/Hello-World";
        await builtiful.KnowInWorldAsync(installationId, login, AccountKind.User, (repository, false));
        using var response = await builtiful.DeliverAsync("installation", Payloads.Installation("installation.created.1.json", installationId, login));
        Expect(response, "installation");
        return (installationId, repository);
    }

    private static JsonObject ByAction(IReadOnlyList<Ec2WireCall> calls, int jobs)
    {
        var byAction = new JsonObject();
        foreach (var group in calls.GroupBy(c => c.Action).OrderBy(g => g.Key, StringComparer.Ordinal))
        {
            byAction[group.Key] = Math.Round((double)group.Count() / jobs, 2);
        }

        return byAction;
    }

    private static void Expect(HttpResponseMessage response, string what)
    {
        if (response.StatusCode != HttpStatusCode.OK)
        {
            throw new InvalidOperationException($"The {what} delivery was answered {(int)response.StatusCode}.");
        }
    }

    private static double Percentile(IEnumerable<double> values, double p)
    {
        var sorted = values.Order().ToArray();
        return sorted.Length == 0 ? double.NaN : sorted[Math.Clamp((int)Math.Ceiling(p * sorted.Length) - 1, 0, sorted.Length - 1)];
    }

    private static long NewId() => Random.Shared.NextInt64(1_000_000, long.MaxValue);

    /// <summary>The headline keys for latest.json.</summary>
    public static void Headline(JsonObject ec2, JsonObject results)
    {
        var lifecycle = (JsonObject)ec2["lifecycle"]!;
        var burst = (JsonObject)ec2["launch_burst"]!;
        var byAction = (JsonObject)lifecycle["calls_per_job_by_action"]!;
        results["ec2_calls_per_job"] = lifecycle["calls_per_job"]?.DeepClone();
        results["ec2_run_instances_per_job"] = byAction["RunInstances"]?.DeepClone() ?? 0;
        results["ec2_describe_instances_per_job"] = byAction["DescribeInstances"]?.DeepClone() ?? 0;
        results["ec2_terminate_instances_per_job"] = byAction["TerminateInstances"]?.DeepClone() ?? 0;
        results["ec2_launches_per_s"] = burst["launches_per_s"]?.DeepClone();
        results["ec2_bucket_launches_per_s"] = burst["bucket_ceiling_launches_per_s"]?.DeepClone();
    }
}
