using System.Diagnostics;
using System.Globalization;
using System.Runtime;
using System.Text;
using System.Text.Json;
using Builtiful.Gateway.Webhooks;
using Builtiful.Providers;
using Builtiful.Testing;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;

namespace Builtiful.Bench.Hosting;

/// <summary>
/// <c>Builtiful.Bench serve key=value ...</c>: the real all-in-one host (gateway, silo, grains, storage exactly as
/// configured) with three bench additions made through <see cref="Builtiful.Embedded.EmbeddedHost.Build"/>'s configure hook:
/// a zero-latency cloud and GitHub, a first middleware that stamps when a <c>queued</c> delivery arrives, and a few
/// <c>/__bench/</c> endpoints the driver reads its figures from. It runs as its own process, so its CPU is its own.
/// </summary>
public static class BenchHost
{
    public const string ReadyLine = "BENCH-READY";
    public const string JobHeader = "X-Bench-Job";
    public const string StageHeader = "X-Bench-Stage";

    public static async Task<int> ServeAsync(IReadOnlyList<string> args)
    {
        var settings = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        foreach (var arg in args)
        {
            var equals = arg.IndexOf('=', StringComparison.Ordinal);
            if (equals <= 0)
            {
                await Console.Error.WriteLineAsync($"serve: '{arg}' is not key=value");
                return 2;
            }

            settings[arg[..equals]] = arg[(equals + 1)..];
        }

        var probe = new BenchProbe();
        var instance = await BuiltifulInstance.StartAsync(settings, builder => Configure(builder, probe));
        await Console.Out.WriteLineAsync($"{ReadyLine} {instance.BaseAddress}");
        await Console.Out.FlushAsync();

        // The driver closes our standard input when it is done (and kills us if we are slow to go).
        await Console.In.ReadToEndAsync();
        using var grace = new CancellationTokenSource(TimeSpan.FromSeconds(5));
        try
        {
            await instance.App.StopAsync(grace.Token);
        }
        catch (OperationCanceledException)
        {
            // The driver kills the process anyway.
        }

        return 0;
    }

    /// <summary>
    /// <c>Bench:World=simulated</c> keeps the embedded default's simulated cloud and GitHub (the starts scenario: VMs boot,
    /// claim and run as the world says); otherwise the zero-latency stubs replace them.
    /// </summary>
    public const string WorldKey = "Bench:World";

    /// <summary>Runs last in the host's composition, so these registrations replace the simulated cloud and GitHub.</summary>
    public static void Configure(WebApplicationBuilder builder, BenchProbe probe)
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.Services.AddSingleton(probe);
        if (builder.Configuration[WorldKey] != "simulated")
        {
            builder.Services.AddSingleton<IComputeProvider>(new ZeroLatencyCloud(probe));
            builder.Services.AddSingleton<IRunnerConfigSource>(new ZeroLatencyRunnerConfigs());
        }

        builder.Services.AddSingleton<IStartupFilter>(new ProbeStartupFilter(probe));
    }

    private sealed class ProbeStartupFilter(BenchProbe probe) : IStartupFilter
    {
        public Action<IApplicationBuilder> Configure(Action<IApplicationBuilder> next) => app =>
        {
            // First in the pipeline: the stamp is taken as soon as Kestrel has parsed the request's headers.
            app.Use(async (context, nextMiddleware) =>
            {
                var request = context.Request;
                if (request.Path.StartsWithSegments("/__bench", StringComparison.Ordinal))
                {
                    await ServeBenchEndpointAsync(context, probe);
                    return;
                }

                if (request.Headers.TryGetValue(StageHeader, out var stage) && stage == "queued"
                    && long.TryParse(request.Headers[JobHeader], NumberStyles.None, CultureInfo.InvariantCulture, out var jobId)
                    && request.Path.Equals(WebhookEndpoint.Path, StringComparison.Ordinal))
                {
                    probe.Received(jobId);
                }

                await nextMiddleware(context);
            });
            next(app);
        };
    }

    /// <summary>Created on the first request for it, so a host that is never asked listens to no runtime events.</summary>
    private static readonly Lazy<AllocationSampler> Allocations = new(() => new AllocationSampler());

    private static async Task ServeBenchEndpointAsync(HttpContext context, BenchProbe probe)
    {
        switch (context.Request.Path.Value)
        {
            case "/__bench/stats":
                await WriteJsonAsync(context, HostStats.Capture(probe));
                break;
            case "/__bench/gc":
                // Twice, with finalizers in between, so what is left is what is live.
                GCSettings.LargeObjectHeapCompactionMode = GCLargeObjectHeapCompactionMode.CompactOnce;
                GC.Collect(GC.MaxGeneration, GCCollectionMode.Forced, blocking: true, compacting: true);
                GC.WaitForPendingFinalizers();
                GC.Collect(GC.MaxGeneration, GCCollectionMode.Forced, blocking: true, compacting: true);
                await WriteJsonAsync(context, new { totalMemoryBytes = GC.GetTotalMemory(forceFullCollection: true) });
                break;
            case "/__bench/launches":
                await StreamLaunchesAsync(context, probe);
                break;
            case "/__bench/allocations/start":
                Allocations.Value.Start();
                break;
            case "/__bench/allocations":
                var (top, total) = Allocations.Value.Read(25);
                await WriteJsonAsync(context, new { totalSampledBytes = total, top = top.Select(t => new { type = t.Type, bytes = t.Bytes }) });
                break;
            case "/__bench/unsubscribe":
                probe.Unsubscribe();
                break;
            case FloorPath:
                await FloorAsync(context);
                break;
            case "/__bench/world":
                // Where the simulated GitHub's REST API and "UI" listen, for a driver that plays its users.
                await WriteJsonAsync(context, new { apiUrl = context.RequestServices.GetService<Builtiful.Simulation.SimulatedGitHubHost>()?.ApiUrl });
                break;
            default:
                context.Response.StatusCode = StatusCodes.Status404NotFound;
                break;
        }
    }

    /// <summary>The HTTP floor (issue 19): what an enqueue-only webhook receiver does before it enqueues.</summary>
    public const string FloorPath = "/__bench/floor";

    private static readonly byte[] Applied = "\"applied\""u8.ToArray();
    private static byte[]? _floorSecret;

    /// <summary>
    /// Reads the body into a pooled buffer, checks its <c>X-Hub-Signature-256</c> with the product's one signature check,
    /// and answers as the gateway does (200 <c>"applied"</c>); nothing is parsed and no grain is called. It runs in the
    /// first middleware, so it skips routing too: Kestrel, the body and the HMAC, the floor under every layer.
    /// </summary>
    private static async Task FloorAsync(HttpContext context)
    {
        var secret = _floorSecret ??= Encoding.UTF8.GetBytes(
            context.RequestServices.GetRequiredService<Microsoft.Extensions.Configuration.IConfiguration>()["GitHub:WebhookSecret"] ?? "");
        var length = (int)(context.Request.ContentLength ?? 0);
        var buffer = System.Buffers.ArrayPool<byte>.Shared.Rent(Math.Max(length, 1));
        try
        {
            var filled = 0;
            while (filled < length && await context.Request.Body.ReadAsync(buffer.AsMemory(filled, length - filled), context.RequestAborted) is var read and > 0)
            {
                filled += read;
            }

            if (!Builtiful.GitHub.WebhookSignature.IsValid(secret, buffer.AsSpan(0, filled), context.Request.Headers[Builtiful.GitHub.WebhookSignature.Header]))
            {
                context.Response.StatusCode = StatusCodes.Status401Unauthorized;
                return;
            }
        }
        finally
        {
            System.Buffers.ArrayPool<byte>.Shared.Return(buffer);
        }

        context.Response.ContentType = "application/json";
        await context.Response.Body.WriteAsync(Applied, context.RequestAborted);
    }

    private static async Task StreamLaunchesAsync(HttpContext context, BenchProbe probe)
    {
        if (probe.Subscribe() is not { } reader)
        {
            context.Response.StatusCode = StatusCodes.Status409Conflict;
            return;
        }

        try
        {
            context.Response.ContentType = "text/plain; charset=utf-8";
            await context.Response.StartAsync(context.RequestAborted);
            var line = new StringBuilder();
            while (await reader.WaitToReadAsync(context.RequestAborted))
            {
                line.Clear();
                while (reader.TryRead(out var launch))
                {
                    line.Append(CultureInfo.InvariantCulture,
                        $"{launch.JobId} {launch.RunnerName} {launch.DecisionMicros} {launch.InstanceId} {launch.LeaseId:D} {launch.ClaimToken} {launch.LaunchedAt.UtcTicks}\n");
                }

                await context.Response.WriteAsync(line.ToString(), context.RequestAborted);
                await context.Response.Body.FlushAsync(context.RequestAborted);
            }
        }
        catch (OperationCanceledException)
        {
            // The driver hung up.
        }
        finally
        {
            // The driver also says so explicitly (/__bench/unsubscribe), in case this request's end is noticed late; noticed
            // late, it ends only this request's own subscription, not a newer one.
            probe.Unsubscribe(reader);
        }
    }

    private static Task WriteJsonAsync<T>(HttpContext context, T value)
    {
        context.Response.ContentType = "application/json";
        return context.Response.WriteAsync(JsonSerializer.Serialize(value));
    }
}

/// <summary>What the host says about itself: its own process CPU, the GC, and the launches the cloud saw.</summary>
public sealed record HostStats(
    long Launches,
    long Terminations,
    double CpuMs,
    int Gen0,
    int Gen1,
    int Gen2,
    long AllocatedBytes,
    long HeapBytes,
    long WorkingSetBytes,
    double GcPauseMs,
    int ThreadCount,
    long JitMethods,
    double JitMs)
{
    public static HostStats Capture(BenchProbe probe)
    {
        using var process = Process.GetCurrentProcess();
        return new HostStats(
            probe.Launches,
            probe.Terminations,
            process.TotalProcessorTime.TotalMilliseconds,
            GC.CollectionCount(0),
            GC.CollectionCount(1),
            GC.CollectionCount(2),
            GC.GetTotalAllocatedBytes(),
            GC.GetGCMemoryInfo().HeapSizeBytes,
            process.WorkingSet64,
            GC.GetTotalPauseDuration().TotalMilliseconds,
            process.Threads.Count,
            System.Runtime.JitInfo.GetCompiledMethodCount(),
            System.Runtime.JitInfo.GetCompilationTime().TotalMilliseconds);
    }
}
