namespace Builtiful.Compute.Ec2;

/// <summary>One instance's share of a batch's answer.</summary>
public sealed record TerminationAnswer(TerminationOutcome Outcome, string? Error = null)
{
    public static readonly TerminationAnswer Ending = new(TerminationOutcome.Ending);
    public static readonly TerminationAnswer NotFound = new(TerminationOutcome.NotFound);
    public static readonly TerminationAnswer Unconfirmed = new(TerminationOutcome.Unconfirmed);
}
