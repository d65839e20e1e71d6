using Builtiful.Compute.Ec2.Options;

namespace Builtiful.Embedded;

/// <summary>Says at start-up, as a warning, what running EC2 on in-memory state risks (see <see cref="Ec2HostRequirements"/>).</summary>
internal sealed partial class EphemeralStateWarning(ILogger<EphemeralStateWarning> logger) : IHostedService
{
    public Task StartAsync(CancellationToken cancellationToken)
    {
        LogEphemeralState(logger, Ec2HostRequirements.EphemeralStateWarning);
        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    [LoggerMessage(Level = LogLevel.Warning, Message = "{Warning}")]
    private static partial void LogEphemeralState(ILogger logger, string warning);
}
