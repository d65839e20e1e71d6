namespace Builtiful.Simulation;

/// <summary>Configuration section <c>Simulation</c>: how the simulated cloud behaves (GitHub's side is <c>Simulation:GitHub</c>).</summary>
public sealed class SimulationOptions
{
    public const string Section = "Simulation";

    /// <summary>From launch until the VM is running and its runner connects to GitHub, unless <see cref="Boot"/> is realistic.</summary>
    public TimeSpan BootDelay { get; set; } = TimeSpan.FromSeconds(3);

    /// <summary><c>Simulation:Boot</c>: off, every VM boots in <see cref="BootDelay"/>; realistic, in drawn stages.</summary>
    public Cloud.BootTimeOptions Boot { get; set; } = new();

    /// <summary>
    /// The VM powers itself off at its lease's expiry whatever the control plane does. Chaos turns it off, so a VM
    /// Builtiful forgets stays up and counts as leaked.
    /// </summary>
    public bool InGuestWatchdog { get; set; } = true;

    /// <summary>Where the world the host starts sends its deliveries; unset, the host's own webhook address.</summary>
    public Uri? WebhookUrl { get; set; }

    /// <summary>Tags the simulated VMs; a simulated cloud belongs to one process, so a shared default harms no one.</summary>
    public string ClusterName { get; set; } = SimulatedComputeProvider.DefaultClusterName;

    /// <summary>
    /// A booted VM claims its runner config at its lease's claim URL, as an EC2 VM's user data does. Off, VMs boot and
    /// wait with no runner (for tests that claim in a VM's place or have no gateway to claim from).
    /// </summary>
    public bool ClaimAfterBoot { get; set; } = true;

    /// <summary>Claims a VM sends before it gives up and powers off, as the EC2 user data does.</summary>
    public int ClaimAttempts { get; set; } = 20;

    /// <summary>The first pause between claims; it doubles (with full jitter) up to <see cref="ClaimRetryMaxDelay"/>.</summary>
    public TimeSpan ClaimRetryDelay { get; set; } = TimeSpan.FromSeconds(1);

    public TimeSpan ClaimRetryMaxDelay { get; set; } = TimeSpan.FromSeconds(30);

    public SimulatedFaultOptions Faults { get; set; } = new();
}
