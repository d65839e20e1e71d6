namespace Builtiful.Compute.Ec2;

/// <summary>What EC2 answered about one instance in a TerminateInstances batch.</summary>
public enum TerminationOutcome
{
    /// <summary>Shutting down or already terminated.</summary>
    Ending = 0,

    /// <summary>EC2 does not know the id.</summary>
    NotFound = 1,

    /// <summary>Accepted, but the answer did not show it ending: read the state back.</summary>
    Unconfirmed = 2,

    /// <summary>EC2 refused this id; the others in its batch are unaffected.</summary>
    Failed = 3,
}
