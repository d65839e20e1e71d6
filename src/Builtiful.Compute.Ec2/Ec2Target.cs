using Amazon.EC2;
using Amazon.EC2.Model;
using Builtiful.Compute.Ec2.Api;
using Builtiful.Compute.Ec2.Options;
using Builtiful.Machines;

namespace Builtiful.Compute.Ec2;

/// <summary>One account and region at run time: its rate-limited API, its runner subnets and its images.</summary>
public sealed class Ec2Target : IDisposable
{
    private readonly IAmazonEC2 _client;
    private readonly Dictionary<string, string> _images;
    private IReadOnlyDictionary<string, string>? _zonesBySubnet;

    internal Ec2Target(int index, Ec2TargetOptions options, IAmazonEC2 client, Ec2Api api)
    {
        Index = index;
        Options = options;
        _client = client;
        Api = api;
        _images = new Dictionary<string, string>(options.Images, StringComparer.OrdinalIgnoreCase);
    }

    public int Index { get; }

    public string Name => Options.DisplayName;

    public Ec2TargetOptions Options { get; }

    internal Ec2Api Api { get; }

    /// <summary>The image for the machine type: by <c>{os}-{arch}</c>, then by architecture, then the catalogue's <c>Ec2</c> image.</summary>
    public string? ImageFor(MachineType machine)
    {
        ArgumentNullException.ThrowIfNull(machine);
        var architecture = machine.Architecture == CpuArchitecture.Arm64 ? "arm64" : "x64";
        return _images.GetValueOrDefault($"{machine.OperatingSystem}-{architecture}")
            ?? _images.GetValueOrDefault(architecture)
            ?? machine.ImageFor(Ec2ComputeProvider.ProviderName);
    }

    /// <summary>The subnet's availability zone, for messages; looked up once per process, unknown until then.</summary>
    public string ZoneOf(string subnetId) =>
        _zonesBySubnet?.GetValueOrDefault(subnetId) is { } zone ? zone : subnetId;

    internal async Task LearnZonesAsync(CancellationToken cancellationToken)
    {
        if (_zonesBySubnet is not null)
        {
            return;
        }

        try
        {
            var response = await Api.DescribeSubnetsAsync(new DescribeSubnetsRequest { SubnetIds = [.. Options.SubnetIds] }, cancellationToken);
            _zonesBySubnet = (response.Subnets ?? []).Where(s => s.SubnetId is not null && s.AvailabilityZone is not null)
                .ToDictionary(s => s.SubnetId, s => $"{s.AvailabilityZone} ({s.SubnetId})", StringComparer.Ordinal);
        }
        catch (Exception ex) when (Ec2Errors.Classify(ex, cancellationToken) == Ec2Failure.Refused && ex is Amazon.Runtime.AmazonServiceException { ErrorCode: "InvalidSubnetID.NotFound" })
        {
            throw new Ec2LaunchException($"{Name}: a configured runner subnet does not exist ({Ec2Errors.Describe(ex)}); check Compute:Ec2 SubnetIds", ex);
        }
        catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            // Zones only label messages: without them a launch still works, and the next one asks again.
        }
    }

    public void Dispose() => _client.Dispose();
}
