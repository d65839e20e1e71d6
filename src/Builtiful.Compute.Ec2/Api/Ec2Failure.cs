namespace Builtiful.Compute.Ec2.Api;

/// <summary>What an EC2 error means for the next step.</summary>
public enum Ec2Failure
{
    /// <summary>The request was refused and did nothing; something in it (or the account) must change.</summary>
    Refused = 0,

    /// <summary>EC2 rate-limited the call: wait and send it again.</summary>
    Throttled = 1,

    /// <summary>No capacity for this instance type in this zone: try the next zone or type.</summary>
    NoCapacity = 2,

    /// <summary>An account quota for this purchase option: further types and zones of it will fail too.</summary>
    QuotaReached = 3,

    /// <summary>Timeout, 5xx or a lost answer: the call may or may not have taken effect.</summary>
    Unknown = 4,

    /// <summary>EC2 does not know the instance (yet, or any more).</summary>
    NotFound = 5,

    /// <summary>The idempotency token was used before with other parameters.</summary>
    TokenReused = 6,
}
