using System.Diagnostics.Metrics;
using Builtiful.Jobs;

namespace Builtiful.Gateway.Webhooks;

/// <summary>
/// The gateway's meter (<see cref="MeterName"/>); <c>builtiful.webhooks.refused</c> counts deliveries that launched
/// nothing because the gateway or the job refused them, tagged with a short, bounded <c>reason</c>.
/// </summary>
public sealed class WebhookMetrics
{
    public const string MeterName = "Builtiful.Gateway";
    public const string RefusedName = "builtiful.webhooks.refused";

    private readonly Counter<long> _refused;

    public WebhookMetrics(IMeterFactory meters)
    {
        ArgumentNullException.ThrowIfNull(meters);
        _refused = meters.Create(MeterName).CreateCounter<long>(RefusedName, "{delivery}", "Deliveries refused: launched nothing, by reason");
    }

    public void Refused(string reason) => _refused.Add(1, new KeyValuePair<string, object?>("reason", reason));

    /// <summary>
    /// A bounded tag value for a job's rejection: the wire name of the grain's <see cref="RejectionCode"/>, so the tag never
    /// depends on how a reason is worded.
    /// </summary>
    public static string Classify(JobView? job) => job?.RejectionCode is { } code ? code.ToWire() : RefusalReasons.Other;
}

/// <summary>Values of the <c>reason</c> tag of <c>builtiful.webhooks.refused</c>.</summary>
public static class RefusalReasons
{
    public const string UnknownInstallation = "unknown_installation";
    public const string SuspendedInstallation = "suspended_installation";
    public const string DeletedInstallation = "deleted_installation";
    public const string NoInstallation = "no_installation";
    public const string MachineTypeNotAllowed = "machine_type_not_allowed";
    public const string UnservedLabel = "unserved_label";
    public const string OperatorSuspended = "operator_suspended";
    public const string RepositoryNotAllowed = "repository_not_allowed";
    public const string PublicRepository = "public_repository";
    public const string ProvisioningFailed = "provisioning_failed";
    public const string Expired = "expired";
    public const string MissingSignature = "missing_signature";
    public const string BadSignature = "bad_signature";
    public const string Malformed = "malformed";
    public const string TooLarge = "too_large";
    public const string UnsupportedMediaType = "unsupported_media_type";
    /// <summary>Not the sender's fault: the cluster or its database could not take the delivery (503).</summary>
    public const string Unavailable = "unavailable";
    public const string Other = "other";
}
