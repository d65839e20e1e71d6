using System.Collections.Concurrent;
using System.Threading.Channels;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Builtiful.Simulation.Tests;

/// <summary>A stand-in for Builtiful's gateway on loopback: records every delivery and answers 200, another status, or not at all.</summary>
internal sealed class Gateway : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly ConcurrentQueue<ReceivedDelivery> _received = new();
    private readonly Channel<ReceivedDelivery> _arrivals = Channel.CreateUnbounded<ReceivedDelivery>();
    private readonly CancellationTokenSource _released = new();

    private Gateway(WebApplication app) => _app = app;

    public Uri Url { get; private set; } = null!;

    /// <summary>The status the next deliveries get; 0: no answer at all (the request hangs).</summary>
    public int Answer { get; set; } = 200;

    public IReadOnlyList<ReceivedDelivery> Received => [.. _received];

    public static async Task<Gateway> StartAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        var app = builder.Build();
        var gateway = new Gateway(app);
        app.Run(gateway.HandleAsync);
        await app.StartAsync();
        gateway.Url = new Uri(app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First() + "/webhook");
        return gateway;
    }

    public async Task<ReceivedDelivery> NextArrivalAsync()
    {
        using var bound = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        return await _arrivals.Reader.ReadAsync(bound.Token);
    }

    public async ValueTask DisposeAsync()
    {
        await _released.CancelAsync();
        await _app.StopAsync();
        await _app.DisposeAsync();
        _released.Dispose();
    }

    private async Task HandleAsync(HttpContext context)
    {
        using var body = new MemoryStream();
        await context.Request.Body.CopyToAsync(body);
        var delivery = new ReceivedDelivery(
            context.Request.Headers.ToDictionary(h => h.Key, h => h.Value.ToString(), StringComparer.OrdinalIgnoreCase),
            body.ToArray());
        _received.Enqueue(delivery);
        _arrivals.Writer.TryWrite(delivery);
        var answer = Answer;
        if (answer == 0)
        {
            try
            {
                await Task.Delay(Timeout.Infinite, CancellationTokenSource.CreateLinkedTokenSource(context.RequestAborted, _released.Token).Token);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }

        context.Response.StatusCode = answer;
    }
}

internal sealed record ReceivedDelivery(IReadOnlyDictionary<string, string> Headers, byte[] Body)
{
    public string Guid => Headers["X-GitHub-Delivery"];

    public string Event => Headers["X-GitHub-Event"];

    public System.Text.Json.JsonElement Json => System.Text.Json.JsonDocument.Parse(Body).RootElement;

    public string? Action => Json.GetProperty("action").GetString();

    public long JobId => Json.GetProperty("workflow_job").GetProperty("id").GetInt64();
}

internal static class TaskBounds
{
    /// <summary>Every await on the world is bounded, so a bug fails the test instead of hanging it.</summary>
    public static Task<T> Bounded<T>(this Task<T> task) => task.WaitAsync(TimeSpan.FromSeconds(30));

    public static Task Bounded(this Task task) => task.WaitAsync(TimeSpan.FromSeconds(30));
}
