using System.Text.Json;
using System.Text.Json.Serialization;
using Builtiful.Machines;
using Builtiful.Providers;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Builtiful.Simulation.Cloud;

/// <summary>
/// The simulated cloud's API on its own loopback port, so silos in other processes share one cloud whose VMs outlive
/// any silo, as real VMs do. It speaks for an in-process cloud and adds nothing: faults, boots and runners are the cloud's.
/// </summary>
public sealed class SimulatedCloudServer : IAsyncDisposable
{
    private readonly WebApplication _app;

    private SimulatedCloudServer(WebApplication app, Uri url)
    {
        _app = app;
        Url = url;
    }

    /// <summary>Give silos this as <c>Simulation:CloudUrl</c>.</summary>
    public Uri Url { get; }

    public static async Task<SimulatedCloudServer> StartAsync(IComputeProvider cloud, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(cloud);
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        builder.Services.ConfigureHttpJsonOptions(o => o.SerializerOptions.TypeInfoResolverChain.Insert(0, CloudJson.Default));
        var app = builder.Build();
        MapCloud(app, cloud);
        await app.StartAsync(cancellationToken);
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        return new SimulatedCloudServer(app, new Uri(address.TrimEnd('/') + "/"));
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }

    private static void MapCloud(WebApplication app, IComputeProvider cloud)
    {
        app.MapPost("/instances", async (LaunchBody body, CancellationToken ct) =>
        {
            try
            {
                var launched = await cloud.LaunchAsync(body.ToRequest(), ct);
                return Results.Ok(new LaunchedBody(launched.InstanceId, launched.LaunchedAt));
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                return Refusal(ex);
            }
        });
        app.MapPost("/instances/{instanceId}/terminate", async (string instanceId, CancellationToken ct) =>
        {
            try
            {
                await cloud.TerminateAsync(instanceId, ct);
                return Results.NoContent();
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                return Refusal(ex);
            }
        });
        app.MapPost("/instances/describe", async (DescribeBody body, CancellationToken ct) =>
        {
            var states = new Dictionary<string, InstanceState>(StringComparer.Ordinal);
            foreach (var id in body.InstanceIds.Distinct(StringComparer.Ordinal))
            {
                states[id] = await cloud.DescribeAsync(id, ct);
            }

            return Results.Ok(new DescribedBody(states));
        });
        app.MapGet("/instances", async (string key, string value, CancellationToken ct) =>
        {
            var found = await cloud.ListByTagAsync(key, value, ct);
            return Results.Ok(found.Select(i => new InstanceBody(i.InstanceId, i.State, new Dictionary<string, string>(i.Tags, StringComparer.Ordinal))).ToList());
        });
    }

    /// <summary>The cloud's error travels as problem text; whether it is permanent travels with it.</summary>
    private static IResult Refusal(Exception ex) => Results.Json(
        new RefusalBody(ex.Message, ex is IProviderFailure { IsPermanent: true }),
        CloudJson.Default.RefusalBody,
        statusCode: StatusCodes.Status503ServiceUnavailable);
}

internal sealed record LaunchBody(
    Guid LeaseId,
    long InstallationId,
    long JobId,
    string MachineTypeLabel,
    int Vcpu,
    int MemoryGiB,
    CpuArchitecture Architecture,
    string OperatingSystem,
    Dictionary<string, string> Images,
    string ClientToken,
    Uri ClaimUrl,
    string ClaimToken,
    DateTimeOffset ExpiresAt,
    Dictionary<string, string> Tags,
    string? ClaimPool = null)
{
    public static LaunchBody From(LaunchRequest request) => new(
        request.LeaseId,
        request.InstallationId,
        request.JobId,
        request.MachineType.Label,
        request.MachineType.Vcpu,
        request.MachineType.MemoryGiB,
        request.MachineType.Architecture,
        request.MachineType.OperatingSystem,
        new Dictionary<string, string>(request.MachineType.ImagesByProvider, StringComparer.Ordinal),
        request.ClientToken,
        request.Claim.Url,
        request.Claim.Token,
        request.ExpiresAt,
        new Dictionary<string, string>(request.Tags, StringComparer.Ordinal),
        request.Claim.Pool);

    public LaunchRequest ToRequest() => new()
    {
        LeaseId = LeaseId,
        InstallationId = InstallationId,
        JobId = JobId,
        MachineType = new MachineType(MachineTypeLabel, Vcpu, MemoryGiB, Architecture, OperatingSystem, Images),
        ClientToken = ClientToken,
        Claim = new ClaimTicket(ClaimUrl, ClaimToken, ClaimPool),
        ExpiresAt = ExpiresAt,
        Tags = Tags,
    };
}

internal sealed record LaunchedBody(string InstanceId, DateTimeOffset LaunchedAt);

internal sealed record DescribeBody(List<string> InstanceIds);

internal sealed record DescribedBody(Dictionary<string, InstanceState> States);

internal sealed record InstanceBody(string InstanceId, InstanceState State, Dictionary<string, string> Tags);

internal sealed record RefusalBody(string Error, bool Permanent);

[JsonSourceGenerationOptions(JsonSerializerDefaults.Web)]
[JsonSerializable(typeof(LaunchBody))]
[JsonSerializable(typeof(LaunchedBody))]
[JsonSerializable(typeof(DescribeBody))]
[JsonSerializable(typeof(DescribedBody))]
[JsonSerializable(typeof(List<InstanceBody>), TypeInfoPropertyName = "ListInstanceBody")]
[JsonSerializable(typeof(RefusalBody))]
internal sealed partial class CloudJson : JsonSerializerContext;
