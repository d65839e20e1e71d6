namespace Builtiful.Providers;

/// <summary>
/// Mints just-in-time runner configurations and removes runner registrations: GitHub's REST API in
/// production, the simulator on a fresh machine.
/// </summary>
public interface IRunnerConfigSource
{
    Task<RunnerConfig> CreateAsync(RunnerRegistration registration, CancellationToken cancellationToken);

    /// <summary>Deletes an idle runner's registration so GitHub hands it no job while its VM is destroyed.</summary>
    Task<RunnerRemoval> RemoveAsync(RunnerRegistration registration, CancellationToken cancellationToken);
}

/// <summary>Everything GitHub needs to mint one just-in-time runner.</summary>
public sealed record RunnerRegistration
{
    public required long InstallationId { get; init; }
    public required string RunnerName { get; init; }
    public required IReadOnlyList<string> Labels { get; init; }
    /// <summary>The installation's account: an organisation's login, or a user's.</summary>
    public string? AccountLogin { get; init; }
    /// <summary><c>Organization</c> uses the organisation endpoint; <c>User</c> registers on <see cref="Repository"/>.</summary>
    public string? AccountType { get; init; }
    /// <summary><c>owner/name</c> of the job's repository.</summary>
    public string? Repository { get; init; }
    public long RunnerGroupId { get; init; } = 1;
}

public enum RunnerRemoval
{
    Removed = 0,
    /// <summary>The registration does not exist (never made, or already gone).</summary>
    NotFound = 1,
    /// <summary>The runner just took a job: the VM must live until that job completes.</summary>
    Busy = 2,
}

/// <summary>
/// A just-in-time runner configuration. It is a credential: it goes to the compute provider and nowhere
/// else, is never persisted and never logged, and <see cref="ToString"/> does not reveal it.
/// </summary>
public sealed class RunnerConfig(string runnerName, string encodedJitConfig)
{
    public string RunnerName { get; } = runnerName;

    public string EncodedJitConfig { get; } = encodedJitConfig;

    public override string ToString() => $"RunnerConfig {{ RunnerName = {RunnerName}, EncodedJitConfig = [redacted] }}";
}
