using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Builtiful.Providers;

namespace Builtiful.Simulation;

/// <summary>Registers runners with the simulated GitHub, as <c>generate-jitconfig</c> does with the real one.</summary>
public sealed class SimulatedRunnerConfigSource(IGrainFactory grains) : IRunnerConfigSource
{
    public async Task<RunnerConfig> CreateAsync(RunnerRegistration registration, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(registration);
        // Shaped like the real thing: an opaque base64 blob holding a one-time credential.
        var credential = Convert.ToHexString(RandomNumberGenerator.GetBytes(16));
        await grains.GetGrain<ISimulatedGitHubGrain>(registration.InstallationId).Register(registration.RunnerName, credential, registration.Labels);
        var blob = JsonSerializer.SerializeToUtf8Bytes(new SimulatedJitConfig(registration.InstallationId, registration.RunnerName, credential));
        return new RunnerConfig(registration.RunnerName, Convert.ToBase64String(blob));
    }

    public Task<RunnerRemoval> RemoveAsync(RunnerRegistration registration, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(registration);
        return grains.GetGrain<ISimulatedGitHubGrain>(registration.InstallationId).Deregister(registration.RunnerName);
    }

    /// <summary>Null for a real GitHub JIT config: only GitHub can run that runner, so the simulated VM just idles.</summary>
    internal static SimulatedJitConfig? TryDecode(string encoded)
    {
        try
        {
            return JsonSerializer.Deserialize<SimulatedJitConfig>(Encoding.UTF8.GetString(Convert.FromBase64String(encoded)));
        }
        catch (Exception ex) when (ex is FormatException or JsonException or ArgumentException)
        {
            return null;
        }
    }
}

internal sealed record SimulatedJitConfig(long InstallationId, string RunnerName, string Credential);
