namespace Builtiful.Simulation;

/// <summary>Configuration section <c>Simulation</c>: how the simulated cloud and GitHub behave.</summary>
public sealed class SimulationOptions
{
    public const string Section = "Simulation";

    /// <summary>From launch until the VM is running and its runner asks GitHub for a job.</summary>
    public TimeSpan BootDelay { get; set; } = TimeSpan.FromSeconds(3);

    /// <summary>From <c>in_progress</c> to <c>completed</c>.</summary>
    public TimeSpan JobRunTime { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>How often an idle simulated runner asks GitHub for a job.</summary>
    public TimeSpan RunnerPollInterval { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>Simulated runners report back as GitHub would; off, VMs boot and wait for their deadlines.</summary>
    public bool RunnersEnabled { get; set; } = true;

    /// <summary>The gateway's webhook URL; the all-in-one host fills it in from its own address when unset.</summary>
    public Uri? WebhookUrl { get; set; }

    /// <summary>Attempts per simulated delivery that the gateway refuses or cannot take, as GitHub's redelivery would make.</summary>
    public int DeliveryAttempts { get; set; } = 8;

    public SimulatedFaultOptions Faults { get; set; } = new();

    /// <summary>The conclusion every simulated job reports.</summary>
    public string Conclusion { get; set; } = "success";
}
