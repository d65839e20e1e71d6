using System.Net.Http.Json;
using Builtiful.Providers;

namespace Builtiful.Simulation.Cloud;

/// <summary>
/// The simulated cloud of another process (<see cref="SimulatedCloudServer"/>), for silos that must not own their VMs:
/// a chaos run kills silo processes, and the VMs they launched live on. Its name is the simulated provider's, so
/// machine-type images and reconciliation are the same as in-process.
/// </summary>
public sealed class RemoteSimulatedCompute(HttpClient http) : IComputeProvider
{
    public string Name => SimulatedComputeProvider.ProviderName;

    public string ClusterName => SimulatedComputeProvider.DefaultClusterName;

    public async Task<LaunchedInstance> LaunchAsync(LaunchRequest request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        using var response = await http.PostAsJsonAsync("instances", LaunchBody.From(request), CloudJson.Default.LaunchBody, cancellationToken);
        await ThrowIfRefusedAsync(response, cancellationToken);
        var launched = await response.Content.ReadFromJsonAsync(CloudJson.Default.LaunchedBody, cancellationToken)
            ?? throw new SimulatedCloudException("the simulated cloud answered a launch with no body");
        return new LaunchedInstance(launched.InstanceId, launched.LaunchedAt);
    }

    public async Task TerminateAsync(string instanceId, CancellationToken cancellationToken)
    {
        using var response = await http.PostAsync($"instances/{Uri.EscapeDataString(instanceId)}/terminate", null, cancellationToken);
        await ThrowIfRefusedAsync(response, cancellationToken);
    }

    public async Task<InstanceState> DescribeAsync(string instanceId, CancellationToken cancellationToken)
    {
        var states = await DescribeManyAsync([instanceId], cancellationToken);
        return states.TryGetValue(instanceId, out var state) ? state : InstanceState.NotFound;
    }

    /// <summary>Many instances in one round trip.</summary>
    public async Task<IReadOnlyDictionary<string, InstanceState>> DescribeManyAsync(IReadOnlyCollection<string> instanceIds, CancellationToken cancellationToken)
    {
        using var response = await http.PostAsJsonAsync("instances/describe", new DescribeBody([.. instanceIds]), CloudJson.Default.DescribeBody, cancellationToken);
        await ThrowIfRefusedAsync(response, cancellationToken);
        var body = await response.Content.ReadFromJsonAsync(CloudJson.Default.DescribedBody, cancellationToken)
            ?? throw new SimulatedCloudException("the simulated cloud answered a describe with no body");
        return body.States;
    }

    public async Task<IReadOnlyList<InstanceSummary>> ListByTagAsync(string key, string value, CancellationToken cancellationToken)
    {
        var found = await http.GetFromJsonAsync(
            $"instances?key={Uri.EscapeDataString(key)}&value={Uri.EscapeDataString(value)}", CloudJson.Default.ListInstanceBody, cancellationToken) ?? [];
        return [.. found.Select(i => new InstanceSummary(i.InstanceId, i.State, i.Tags))];
    }

    private static async Task ThrowIfRefusedAsync(HttpResponseMessage response, CancellationToken cancellationToken)
    {
        if (response.IsSuccessStatusCode)
        {
            return;
        }

        RefusalBody? refusal = null;
        try
        {
            refusal = await response.Content.ReadFromJsonAsync(CloudJson.Default.RefusalBody, cancellationToken);
        }
        catch (System.Text.Json.JsonException)
        {
            // Not the cloud's own refusal (a proxy's page, a dying server): reported by status alone.
        }

        var message = refusal?.Error ?? $"the simulated cloud answered {(int)response.StatusCode}";
        throw refusal is { Permanent: true } ? new SimulatedCloudRefusalException(message) : new SimulatedCloudException(message);
    }
}

/// <summary>A refusal that trying again cannot change (a machine type with no image).</summary>
public sealed class SimulatedCloudRefusalException : Exception, IProviderFailure
{
    public SimulatedCloudRefusalException()
    {
    }

    public SimulatedCloudRefusalException(string message)
        : base(message)
    {
    }

    public SimulatedCloudRefusalException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    public bool IsPermanent => true;
}
