using Amazon.EC2;
using Amazon.EC2.Model;
using Builtiful.Compute.Ec2.Api;
using Builtiful.Compute.Ec2.Options;
using Builtiful.Providers;
using Microsoft.Extensions.Logging;

namespace Builtiful.Compute.Ec2.Launching;

/// <summary>
/// Turns one launch attempt into at most one instance: walks the plan's candidates on capacity errors (each with
/// its own token), and resolves unknown outcomes by describing the candidate's launch tag before resending the
/// same token, so a lost answer never becomes a second instance.
/// </summary>
public sealed partial class Ec2Launcher(
    IReadOnlyList<Ec2Target> targets,
    Ec2Options options,
    CapacityShortages shortages,
    ILaunchBudget budget,
    TimeProvider time,
    ILogger logger)
{
    /// <summary>Carries the candidate's own token, so an unknown outcome is resolved by one exact filter on any EC2 (moto has no client-token filter).</summary>
    public const string LaunchTag = "builtiful:launch";

    public const string MachineTypeTag = "builtiful:machine-type";

    public async Task<(Instance Instance, Ec2Target Target)> LaunchAsync(LaunchRequest request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        if (string.IsNullOrEmpty(request.ClientToken) || request.ClientToken.Length > ClientTokens.MaxLength)
        {
            throw new Ec2LaunchException($"Lease {request.LeaseId:N}: client token must be 1 to {ClientTokens.MaxLength} characters, got {request.ClientToken?.Length ?? 0}.");
        }

        var userData = RunnerUserData.Encode(request, options.Runner);
        var plan = LaunchPlan.For(request, targets, options);
        if (plan.Count == 0)
        {
            throw new Ec2LaunchException(
                $"No EC2 instance type for {request.MachineType.Label}: set {Ec2Options.Section}:InstanceTypes:{InstanceTypeChoice.SizeKey(request.MachineType.Vcpu, request.MachineType.Architecture)}.");
        }

        var failures = new List<string>();
        var exhausted = new HashSet<(int Target, bool Spot)>();
        var withTarget = targets.Count > 1;
        foreach (var candidate in shortages.Order(plan))
        {
            if (exhausted.Contains((candidate.Target.Index, candidate.Spot)))
            {
                continue;
            }

            var image = candidate.Target.ImageFor(request.MachineType);
            if (image is null)
            {
                failures.Add($"{candidate.Target.Name} has no image for {request.MachineType.OperatingSystem} {request.MachineType.Architecture} ({Ec2Options.Section}:Images)");
                exhausted.Add((candidate.Target.Index, true));
                exhausted.Add((candidate.Target.Index, false));
                continue;
            }

            await candidate.Target.LearnZonesAsync(cancellationToken);
            try
            {
                var instance = await LaunchCandidateAsync(candidate, request.InstallationId, BuildRequest(candidate, request, image, userData), cancellationToken);
                LogLaunched(logger, request.LeaseId, instance.InstanceId, candidate.Describe(withTarget: true), failures.Count + 1);
                return (instance, candidate.Target);
            }
            catch (Exception ex) when (Ec2Errors.Classify(ex, cancellationToken) is Ec2Failure.NoCapacity or Ec2Failure.QuotaReached)
            {
                var reason = $"{Ec2Errors.Code(ex)} for {candidate.Describe(withTarget)}";
                failures.Add(reason);
                LogFallback(logger, request.LeaseId, reason);
                if (Ec2Errors.Classify(ex, cancellationToken) == Ec2Failure.QuotaReached)
                {
                    exhausted.Add((candidate.Target.Index, candidate.Spot));
                }
                else
                {
                    shortages.Remember(candidate);
                }
            }
            catch (Ec2LaunchException ex) when (failures.Count > 0)
            {
                throw new Ec2LaunchException($"{ex.Message} (after {string.Join(", then ", failures)})", ex);
            }
            catch (Exception ex) when (ex is not Ec2LaunchException && !cancellationToken.IsCancellationRequested)
            {
                var tried = failures.Count == 0 ? "" : $" after {string.Join(", then ", failures)}";
                throw new Ec2LaunchException($"RunInstances refused {candidate.Describe(withTarget)}{tried}: {Ec2Errors.Describe(ex)}", ex);
            }
        }

        throw new Ec2LaunchException($"No capacity for {request.MachineType.Label}: {string.Join(", then ", failures)}.");
    }

    /// <summary>The cluster's RunInstances budget of a target's account and region: sharding across targets lifts it.</summary>
    public LaunchBudgetKey BudgetOf(Ec2Target target)
    {
        ArgumentNullException.ThrowIfNull(target);
        var limit = options.ApiLimits.RunInstances;
        return new LaunchBudgetKey($"ec2/{target.Options.RateLimitKey}", limit.Burst, limit.PerSecond);
    }

    private async Task<Instance> LaunchCandidateAsync(LaunchCandidate candidate, long installationId, RunInstancesRequest runRequest, CancellationToken cancellationToken)
    {
        var key = BudgetOf(candidate.Target);
        Exception? lastUnknown = null;
        var delay = TimeSpan.Zero;
        for (var retry = 0; ; retry++)
        {
            if (retry > 0)
            {
                delay = options.UnknownOutcomeBackoff.Delay(retry, delay, Random.Shared);
                await Task.Delay(delay, time, cancellationToken);
                if (await FindLaunchedAsync(candidate, cancellationToken) is { } found)
                {
                    LogResolved(logger, candidate.ClientToken, found.InstanceId);
                    return found;
                }

                if (retry > options.UnknownOutcomeRetries)
                {
                    throw new Ec2LaunchException(
                        $"RunInstances for {candidate.Describe(withTarget: true)} has an unknown outcome after {retry} tries with token {candidate.ClientToken} " +
                        $"(last: {Ec2Errors.Describe(lastUnknown!)}); if it made an instance, that instance carries {LaunchTag}={candidate.ClientToken}",
                        lastUnknown!);
                }
            }

            try
            {
                var response = await candidate.Target.Api.RunInstancesAsync(runRequest, ct => budget.AcquireAsync(key, installationId, ct), cancellationToken);
                return response.Reservation?.Instances?.FirstOrDefault()
                    ?? throw new InvalidDataException("RunInstances answered without an instance");
            }
            catch (Exception ex) when (Ec2Errors.Classify(ex, cancellationToken) == Ec2Failure.Unknown || ex is InvalidDataException)
            {
                lastUnknown = ex;
                LogUnknown(logger, candidate.ClientToken, Ec2Errors.Describe(ex));
            }
            catch (Exception ex) when (Ec2Errors.Classify(ex, cancellationToken) == Ec2Failure.TokenReused)
            {
                // An earlier try of this very candidate may have launched with other user data: adopt it if so.
                if (await FindLaunchedAsync(candidate, cancellationToken) is { } found)
                {
                    return found;
                }

                throw;
            }
        }
    }

    /// <summary>The instance a try with this candidate's token made, if EC2 shows it yet.</summary>
    private static async Task<Instance?> FindLaunchedAsync(LaunchCandidate candidate, CancellationToken cancellationToken)
    {
        try
        {
            var response = await candidate.Target.Api.DescribeInstancesAsync(new DescribeInstancesRequest
            {
                Filters = [new Filter($"tag:{LaunchTag}", [candidate.ClientToken])],
            }, cancellationToken);
            return (response.Reservations ?? []).SelectMany(r => r.Instances ?? []).FirstOrDefault();
        }
        catch (Exception ex) when (Ec2Errors.Classify(ex, cancellationToken) is Ec2Failure.Unknown or Ec2Failure.Throttled)
        {
            // Not knowing is no answer: the resend with the same token is still safe on EC2.
            return null;
        }
    }

    private RunInstancesRequest BuildRequest(LaunchCandidate candidate, LaunchRequest request, string image, string userData)
    {
        var tags = new List<Tag>(request.Tags.Count + 3);
        tags.AddRange(request.Tags.Select(t => new Tag(t.Key, t.Value)));
        tags.Add(new Tag(LaunchTag, candidate.ClientToken));
        tags.Add(new Tag(MachineTypeTag, request.MachineType.Label));
        tags.Add(new Tag("Name", request.RunnerName));
        var volume = options.RootVolume;
        var run = new RunInstancesRequest
        {
            ClientToken = candidate.ClientToken,
            ImageId = image,
            InstanceType = InstanceType.FindValue(candidate.InstanceType),
            MinCount = 1,
            MaxCount = 1,
            SubnetId = candidate.SubnetId,
            SecurityGroupIds = [candidate.Target.Options.SecurityGroupId],
            UserData = userData,
            InstanceInitiatedShutdownBehavior = ShutdownBehavior.Terminate,
            MetadataOptions = new InstanceMetadataOptionsRequest
            {
                HttpEndpoint = InstanceMetadataEndpointState.Enabled,
                HttpTokens = HttpTokensState.Required,
                // One hop: containers the job starts cannot reach the metadata service through the host.
                HttpPutResponseHopLimit = 1,
            },
            BlockDeviceMappings =
            [
                new BlockDeviceMapping
                {
                    DeviceName = volume.DeviceName,
                    Ebs = new EbsBlockDevice
                    {
                        VolumeSize = volume.SizeGiB,
                        VolumeType = VolumeType.FindValue(volume.VolumeType),
                        Iops = volume.Iops,
                        Throughput = volume.ThroughputMiBps,
                        Encrypted = true,
                        KmsKeyId = volume.KmsKeyId,
                        DeleteOnTermination = true,
                    },
                },
            ],
            TagSpecifications =
            [
                new TagSpecification { ResourceType = ResourceType.Instance, Tags = tags },
                new TagSpecification { ResourceType = ResourceType.Volume, Tags = [.. tags] },
            ],
        };
        if (candidate.Spot)
        {
            run.InstanceMarketOptions = new InstanceMarketOptionsRequest
            {
                MarketType = MarketType.Spot,
                SpotOptions = new SpotMarketOptions
                {
                    SpotInstanceType = SpotInstanceType.OneTime,
                    InstanceInterruptionBehavior = InstanceInterruptionBehavior.Terminate,
                },
            };
        }

        if (candidate.Target.Options.InstanceProfileArn is { Length: > 0 } profile)
        {
            run.IamInstanceProfile = new IamInstanceProfileSpecification { Arn = profile };
        }

        return run;
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Lease {LeaseId}: RunInstances made {InstanceId} as {Candidate} ({Tried} candidates tried)")]
    private static partial void LogLaunched(ILogger logger, Guid leaseId, string instanceId, string candidate, int tried);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Lease {LeaseId}: {Reason}; trying the next zone or instance type with a new token")]
    private static partial void LogFallback(ILogger logger, Guid leaseId, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "RunInstances with token {ClientToken} has an unknown outcome ({Error}); resolving before resending the same token")]
    private static partial void LogUnknown(ILogger logger, string clientToken, string error);

    [LoggerMessage(Level = LogLevel.Information, Message = "RunInstances with token {ClientToken} had made {InstanceId} after all")]
    private static partial void LogResolved(ILogger logger, string clientToken, string instanceId);
}
