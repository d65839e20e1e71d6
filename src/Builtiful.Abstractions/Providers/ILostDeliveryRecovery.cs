namespace Builtiful.Providers;

/// <summary>
/// Asks GitHub to redeliver recent webhook deliveries that failed. GitHub never redelivers by itself, so without
/// this a gateway outage would lose jobs. Driven periodically by a reminder; absent in the simulated world.
/// </summary>
public interface ILostDeliveryRecovery
{
    /// <summary>One pass; returns a one-line account of what it did, for the log.</summary>
    Task<string> RecoverLostDeliveriesAsync(CancellationToken cancellationToken);
}
