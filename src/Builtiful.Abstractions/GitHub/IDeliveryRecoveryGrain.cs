namespace Builtiful.GitHub;

/// <summary>The cluster's one driver of lost-delivery recovery: a reminder that asks GitHub to redeliver failed deliveries.</summary>
[Alias("builtiful.delivery-recovery")]
public interface IDeliveryRecoveryGrain : IGrainWithIntegerKey
{
    /// <summary>Arms the reminder; every silo calls it at start-up, the first call wins and the rest change nothing.</summary>
    [Alias("start")]
    Task Start();
}
