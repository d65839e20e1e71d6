namespace Builtiful.Gateway.Webhooks;

/// <summary>What the gateway did with one delivery; returned in the response body to help whoever reads GitHub's delivery log.</summary>
public sealed record DeliveryOutcome(string Event, string? Action, string Outcome);

/// <summary>A delivery that parsed as JSON but does not carry what its event promises.</summary>
public sealed class MalformedDeliveryException(string message) : Exception(message);
