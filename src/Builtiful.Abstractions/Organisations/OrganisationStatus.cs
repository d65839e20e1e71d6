namespace Builtiful.Organisations;

public enum OrganisationStatus
{
    /// <summary>No <c>installation.created</c> was ever seen: jobs launch nothing.</summary>
    Unknown = 0,
    Active = 1,
    Suspended = 2,
    /// <summary>Terminal: GitHub never reuses an installation id.</summary>
    Deleted = 3,
}
