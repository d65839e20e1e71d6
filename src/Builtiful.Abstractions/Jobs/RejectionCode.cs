namespace Builtiful.Jobs;

/// <summary>
/// Why a job launched nothing, as a bounded code: the admin API shows it next to the reason's words, and the gateway's
/// <c>builtiful.webhooks.refused</c> counter uses its wire name as the <c>reason</c> tag.
/// </summary>
public enum RejectionCode
{
    Other = 0,
    UnknownInstallation = 1,
    SuspendedInstallation = 2,
    DeletedInstallation = 3,
    /// <summary>An operator holds the installation (<c>builtiful orgs suspend</c>).</summary>
    OperatorSuspended = 4,
    /// <summary>The delivery named no GitHub App installation.</summary>
    NoInstallation = 5,
    /// <summary>The organisation's limits leave this machine type out.</summary>
    MachineTypeNotAllowed = 6,
    /// <summary>The labels name no machine type Builtiful serves (or none of ours at all).</summary>
    UnservedLabel = 7,
    /// <summary>The organisation keeps a repository allow-list and this repository is not on it.</summary>
    RepositoryNotAllowed = 8,
    /// <summary>A public repository (or one whose visibility is unknown) of an organisation that has not opted in.</summary>
    PublicRepository = 9,
    /// <summary>Every VM started for the job ended before a runner took it.</summary>
    ProvisioningFailed = 10,
    /// <summary>The job stayed queued longer than GitHub keeps a queued job (<c>Organisations:QueuedJobLifetime</c>).</summary>
    Expired = 11,
}

public static class RejectionCodeNames
{
    public static string ToWire(this RejectionCode code) => code switch
    {
        RejectionCode.UnknownInstallation => "unknown_installation",
        RejectionCode.SuspendedInstallation => "suspended_installation",
        RejectionCode.DeletedInstallation => "deleted_installation",
        RejectionCode.OperatorSuspended => "operator_suspended",
        RejectionCode.NoInstallation => "no_installation",
        RejectionCode.MachineTypeNotAllowed => "machine_type_not_allowed",
        RejectionCode.UnservedLabel => "unserved_label",
        RejectionCode.RepositoryNotAllowed => "repository_not_allowed",
        RejectionCode.PublicRepository => "public_repository",
        RejectionCode.ProvisioningFailed => "provisioning_failed",
        RejectionCode.Expired => "expired",
        _ => "other",
    };
}
