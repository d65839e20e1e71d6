using Builtiful.Providers;
using Microsoft.Extensions.Logging;

namespace Builtiful.Leases;

/// <summary>The claim: a booted VM trades its claim token and verified identity for its runner config, once.</summary>
public sealed partial class VmLeaseGrain
{
    /// <summary>The config minted by this call's claim; it never leaves the call except in its answer.</summary>
    private RunnerConfig? _minted;

    public async Task<ClaimAnswer> Claim(ClaimRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        var key = claims.Value.KeyBytes();
        // An unknown lease's order may be unstored and lost with a silo: its first attempt's token still says it was ordered.
        var matches = Lease.Known
            ? ClaimTokens.Matches(key, LeaseId, Lease.LaunchAttempts, request.Token) || (Lease.PoolVmId is { } poolVm && ClaimTokens.MatchesPoolVm(key, poolVm, request.Token))
            : ClaimTokens.Matches(key, LeaseId, 1, request.Token);
        try
        {
            var outcome = (ClaimOutcome)(await Run(new ClaimRequested(request.InstanceId, matches, LaunchPending)))!;
            LogClaim(logger, LeaseId, request.InstanceId, outcome);
            return outcome == ClaimOutcome.Granted && _minted is { } config
                ? new ClaimAnswer { Outcome = outcome, Reason = "granted", RunnerName = config.RunnerName, EncodedJitConfig = config.EncodedJitConfig, ExpiresAt = Lease.ExpiresAt }
                : new ClaimAnswer { Outcome = outcome == ClaimOutcome.Granted ? ClaimOutcome.NotYet : outcome, Reason = Explain(outcome) };
        }
        finally
        {
            _minted = null;
        }
    }

    private async Task<LeaseEvent> MintAsync()
    {
        try
        {
            using var timeout = CallTimeout();
            _minted = await runners.CreateAsync(Registration(), timeout.Token);
            return new RunnerConfigMinted();
        }
        catch (Exception ex)
        {
            return new RunnerConfigMintFailed(ex.Message, ex is IProviderFailure { IsPermanent: true });
        }
    }

    private static string Explain(ClaimOutcome outcome) => outcome switch
    {
        ClaimOutcome.NotYet => "the lease does not know its VM yet (or is not yet ordered again after a restart), or GitHub failed; claim again shortly",
        ClaimOutcome.WrongToken => "the claim token is not this lease's",
        ClaimOutcome.WrongInstance => "the token belongs to another instance's lease; that VM is being terminated",
        ClaimOutcome.AlreadyClaimed => "this lease's runner config was claimed before; its VM is being terminated",
        ClaimOutcome.LeaseOver => "the lease is over",
        ClaimOutcome.UnknownLease => "no such lease",
        _ => outcome.ToString(),
    };

    [LoggerMessage(Level = LogLevel.Information, Message = "Lease {LeaseId}: claim from instance {InstanceId}: {Outcome}")]
    private static partial void LogClaim(ILogger logger, Guid leaseId, string instanceId, ClaimOutcome outcome);
}
