using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Amazon.EC2;
using Amazon.EC2.Model;
using Amazon.Runtime;

namespace Builtiful.Testing;

/// <summary>
/// A moto_server of its own on a free loopback port, stopped again on dispose. Unless told otherwise it starts with
/// runner networks in it (a VPC, a subnet in each of three availability zones, a security group with no ingress;
/// and a second one in another region), as the EC2 provider's tests use them.
/// </summary>
public sealed class MotoServer : IAsyncLifetime
{
    public const string Region = "us-east-1";
    public static readonly string[] Zones = ["us-east-1a", "us-east-1b", "us-east-1c"];
    private static readonly TimeSpan ReadyTimeout = TimeSpan.FromSeconds(45);

    private readonly StringBuilder _output = new();
    private Process? _process;

    public Uri Url { get; private set; } = null!;

    public IReadOnlyList<string> SubnetIds { get; private set; } = [];

    public IReadOnlyDictionary<string, string> ZoneBySubnet { get; private set; } = new Dictionary<string, string>();

    public string SecurityGroupId { get; private set; } = "";

    /// <summary>A second account-and-region target: its own VPC, two subnets and security group in us-west-2.</summary>
    public const string SecondRegion = "us-west-2";

    public IReadOnlyList<string> SecondSubnetIds { get; private set; } = [];

    public string SecondSecurityGroupId { get; private set; } = "";

    /// <summary>moto launches any well-formed image id.</summary>
    public string ImageId { get; } = "ami-0b1d2c3e4f5a6b7c8";

    public static BasicAWSCredentials Credentials { get; } = new("testing", "testing");

    /// <summary>False: start moto empty, for a caller that builds its own network with <see cref="CreateRunnerNetworkAsync"/>.</summary>
    public bool CreateDefaultNetworks { get; init; } = true;

    /// <summary>The moto_server executable on PATH, or null.</summary>
    public static string? Executable => FindOnPath("moto_server");

    public async Task InitializeAsync()
    {
        var executable = Executable
            ?? throw new InvalidOperationException(
                "moto_server is not on PATH. The EC2 tests need moto 5.2.1 with its server: pip install 'moto[server]==5.2.1'.");

        for (var attempt = 1; ; attempt++)
        {
            var port = PickFreeLoopbackPort();
            Url = new Uri($"http://127.0.0.1:{port}");
            Start(executable, port);
            try
            {
                await WaitUntilAnsweringAsync();
                break;
            }
            catch (InvalidOperationException) when (attempt < 3 && Output().Contains("in use", StringComparison.OrdinalIgnoreCase))
            {
                // Another process took the port between picking and binding: pick again.
            }
        }

        if (CreateDefaultNetworks)
        {
            var first = await CreateRunnerNetworkAsync(Region, Zones);
            (SubnetIds, ZoneBySubnet, SecurityGroupId) = (first.SubnetIds, first.ZoneBySubnet, first.SecurityGroupId);
            var second = await CreateRunnerNetworkAsync(SecondRegion, ["us-west-2a", "us-west-2b"]);
            (SecondSubnetIds, SecondSecurityGroupId) = (second.SubnetIds, second.SecurityGroupId);
        }
    }

    public Task DisposeAsync()
    {
        if (_process is { } process)
        {
            try
            {
                if (!process.HasExited)
                {
                    process.Kill(entireProcessTree: true);
                    process.WaitForExit(10_000);
                }
            }
            finally
            {
                process.Dispose();
                _process = null;
            }
        }

        return Task.CompletedTask;
    }

    /// <summary>A client straight to moto, with no faults, for reading back what the provider did.</summary>
    public AmazonEC2Client DirectClient(string region = Region) => new(Credentials, new AmazonEC2Config
    {
        ServiceURL = Url.ToString(),
        AuthenticationRegion = region,
        MaxErrorRetry = 0,
    });

    public string Output()
    {
        lock (_output)
        {
            return _output.ToString();
        }
    }

    private void Start(string executable, int port)
    {
        _process?.Dispose();
        var start = new ProcessStartInfo(executable)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var argument in new[] { "-H", "127.0.0.1", "-p", port.ToString(System.Globalization.CultureInfo.InvariantCulture) })
        {
            start.ArgumentList.Add(argument);
        }

        _process = new Process { StartInfo = start };
        _process.OutputDataReceived += (_, e) => Append(e.Data);
        _process.ErrorDataReceived += (_, e) => Append(e.Data);
        _process.Start();
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();
    }

    private void Append(string? line)
    {
        if (line is null)
        {
            return;
        }

        lock (_output)
        {
            // Keep the tail only: moto logs every request.
            if (_output.Length > 64_000)
            {
                _output.Remove(0, 32_000);
            }

            _output.AppendLine(line);
        }
    }

    private async Task WaitUntilAnsweringAsync()
    {
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(2) };
        var deadline = Stopwatch.StartNew();
        while (true)
        {
            if (_process!.HasExited)
            {
                throw new InvalidOperationException($"moto_server exited with code {_process.ExitCode} before answering on {Url}:\n{Output()}");
            }

            try
            {
                using var response = await http.GetAsync(new Uri(Url, "/moto-api/"));
                return;
            }
            catch (HttpRequestException)
            {
            }
            catch (TaskCanceledException)
            {
            }

            if (deadline.Elapsed > ReadyTimeout)
            {
                throw new TimeoutException($"moto_server did not answer on {Url} within {ReadyTimeout.TotalSeconds} s:\n{Output()}");
            }

            await Task.Delay(100);
        }
    }

    /// <summary>A runner network as deploy/aws builds it: a VPC, one subnet per zone, a security group with no ingress.</summary>
    public async Task<MotoRunnerNetwork> CreateRunnerNetworkAsync(string region, IReadOnlyList<string> zones)
    {
        ArgumentNullException.ThrowIfNull(zones);
        using var ec2 = DirectClient(region);
        var vpc = await ec2.CreateVpcAsync(new CreateVpcRequest { CidrBlock = "10.42.0.0/16" });
        var subnets = new List<string>();
        var zoneBySubnet = new Dictionary<string, string>(StringComparer.Ordinal);
        for (var i = 0; i < zones.Count; i++)
        {
            var subnet = await ec2.CreateSubnetAsync(new CreateSubnetRequest
            {
                VpcId = vpc.Vpc.VpcId,
                CidrBlock = $"10.42.{i * 16}.0/20",
                AvailabilityZone = zones[i],
            });
            subnets.Add(subnet.Subnet.SubnetId);
            zoneBySubnet[subnet.Subnet.SubnetId] = zones[i];
        }

        var group = await ec2.CreateSecurityGroupAsync(new CreateSecurityGroupRequest
        {
            GroupName = "builtiful-runners",
            Description = "Builtiful runners: no ingress",
            VpcId = vpc.Vpc.VpcId,
        });
        return new MotoRunnerNetwork(vpc.Vpc.VpcId, subnets, zoneBySubnet, group.GroupId);
    }

    private static string? FindOnPath(string name)
    {
        foreach (var directory in (Environment.GetEnvironmentVariable("PATH") ?? "").Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries))
        {
            var candidate = Path.Combine(directory, name);
            if (File.Exists(candidate))
            {
                return candidate;
            }
        }

        return null;
    }

    private static int PickFreeLoopbackPort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}

/// <summary>A runner network made in moto.</summary>
public sealed record MotoRunnerNetwork(string VpcId, IReadOnlyList<string> SubnetIds, IReadOnlyDictionary<string, string> ZoneBySubnet, string SecurityGroupId);

/// <summary>For handlers in front of the EC2 SDK's transport that must read the query before moto does.</summary>
public static class Ec2RequestBody
{
    /// <summary>Reads the SDK's form body once and puts an identical copy (headers included) back on the request.</summary>
    public static async Task<string> ReadAndReplaceAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        if (request.Content is null)
        {
            return "";
        }

        var body = await request.Content.ReadAsStringAsync(cancellationToken);
        var copy = new StringContent(body, Encoding.UTF8);
        copy.Headers.Clear();
        foreach (var header in request.Content.Headers)
        {
            copy.Headers.TryAddWithoutValidation(header.Key, header.Value);
        }

        request.Content = copy;
        return body;
    }
}
