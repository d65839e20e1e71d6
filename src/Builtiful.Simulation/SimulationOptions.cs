namespace Builtiful.Simulation;

/// <summary>Configuration section <c>Simulation</c>: how the simulated cloud behaves (GitHub's side is <c>Simulation:GitHub</c>).</summary>
public sealed class SimulationOptions
{
    public const string Section = "Simulation";

    /// <summary>From launch until the VM is running and its runner connects to GitHub.</summary>
    public TimeSpan BootDelay { get; set; } = TimeSpan.FromSeconds(3);

    /// <summary>
    /// The VM powers itself off at its lease's expiry whatever the control plane does. Chaos turns it off, so a VM
    /// Builtiful forgets stays up and counts as leaked.
    /// </summary>
    public bool InGuestWatchdog { get; set; } = true;

    /// <summary>Where the world the host starts sends its deliveries; unset, the host's own webhook address.</summary>
    public Uri? WebhookUrl { get; set; }

    /// <summary>Tags the simulated VMs; a simulated cloud belongs to one process, so a shared default harms no one.</summary>
    public string ClusterName { get; set; } = SimulatedComputeProvider.DefaultClusterName;

    public SimulatedFaultOptions Faults { get; set; } = new();
}
