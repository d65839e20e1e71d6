namespace Builtiful.Leases;

/// <summary>How a lease answers a VM's claim for its runner config.</summary>
public enum ClaimOutcome
{
    /// <summary>The config was minted now and is in the answer, once.</summary>
    Granted = 0,
    /// <summary>The lease does not know its instance yet (its launch answer is late), or GitHub failed: ask again shortly.</summary>
    NotYet = 1,
    /// <summary>The claim token is not this lease's: refused, the VM is left alone.</summary>
    WrongToken = 2,
    /// <summary>The right token from another instance: refused, and the lease's VM is terminated.</summary>
    WrongInstance = 3,
    /// <summary>The lease was claimed before: refused, and the lease's VM is terminated.</summary>
    AlreadyClaimed = 4,
    /// <summary>The lease is ending or over.</summary>
    LeaseOver = 5,
    /// <summary>No lease with this id exists.</summary>
    UnknownLease = 6,
}

/// <summary>A claim whose instance identity document the gateway has verified. The token is a credential: never logged.</summary>
[GenerateSerializer, Alias("builtiful.claim-request")]
public sealed record ClaimRequest
{
    [Id(0)] public required string InstanceId { get; init; }
    [Id(1)] public required string Token { get; init; }

    public override string ToString() => $"ClaimRequest {{ InstanceId = {InstanceId}, Token = [redacted] }}";
}

/// <summary>The lease's answer; <see cref="EncodedJitConfig"/> is set only when granted, and is never stored or logged.</summary>
[GenerateSerializer, Alias("builtiful.claim-answer")]
public sealed record ClaimAnswer
{
    [Id(0)] public required ClaimOutcome Outcome { get; init; }
    [Id(1)] public required string Reason { get; init; }
    [Id(2)] public string? RunnerName { get; init; }
    [Id(3)] public string? EncodedJitConfig { get; init; }
    /// <summary>The lease's deadline: a pool VM's watchdog adopts it in place of its idle deadline.</summary>
    [Id(4)] public DateTimeOffset? ExpiresAt { get; init; }

    public override string ToString() => $"ClaimAnswer {{ Outcome = {Outcome}, Reason = {Reason}, RunnerName = {RunnerName}, EncodedJitConfig = [redacted], ExpiresAt = {ExpiresAt:O} }}";
}
