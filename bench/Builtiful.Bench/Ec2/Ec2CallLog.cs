using System.Collections.Concurrent;
using System.Diagnostics;
using System.Text;
using System.Text.RegularExpressions;
using Builtiful.Testing;

namespace Builtiful.Bench.Ec2;

/// <summary>One EC2 request as it went over the wire: its action and when it was sent and answered (bench stopwatch).</summary>
public sealed record Ec2WireCall(string Action, TimeSpan SentAt, TimeSpan AnsweredAt, int Status);

/// <summary>
/// The HTTP stack under the provider's SDK clients: a real socket handler with a log of every request's action (EC2's
/// query protocol names it in the form body), so calls are counted exactly as EC2 would bill them against its limits.
/// </summary>
public sealed partial class Ec2CallLog : Amazon.Runtime.HttpClientFactory
{
    private readonly ConcurrentQueue<Ec2WireCall> _calls = new();
    private readonly Stopwatch _clock = Stopwatch.StartNew();
    private readonly HttpClient _client;

    public Ec2CallLog() => _client = new HttpClient(new Recorder(this), disposeHandler: true) { Timeout = TimeSpan.FromSeconds(30) };

    public TimeSpan Now => _clock.Elapsed;

    public IReadOnlyList<Ec2WireCall> Calls => [.. _calls];

    /// <summary>Forgets what was logged so far, so a measured window starts empty.</summary>
    public void Clear() => _calls.Clear();

    public IReadOnlyList<Ec2WireCall> CallsTo(string action) => [.. _calls.Where(c => c.Action == action)];

    public override HttpClient CreateHttpClient(Amazon.Runtime.IClientConfig clientConfig) => _client;

    public override bool UseSDKHttpClientCaching(Amazon.Runtime.IClientConfig clientConfig) => false;

    public override bool DisposeHttpClientsAfterUse(Amazon.Runtime.IClientConfig clientConfig) => false;

    [GeneratedRegex("(?:^|&)Action=([A-Za-z]+)")]
    private static partial Regex ActionPattern();

    private sealed class Recorder(Ec2CallLog log) : DelegatingHandler(new SocketsHttpHandler())
    {
        protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            var sentAt = log.Now;
            var body = await Ec2RequestBody.ReadAndReplaceAsync(request, cancellationToken);
            var action = ActionPattern().Match(body) is { Success: true } match ? match.Groups[1].Value : "?";

            var response = await base.SendAsync(request, cancellationToken);
            log._calls.Enqueue(new Ec2WireCall(action, sentAt, log.Now, (int)response.StatusCode));
            return response;
        }
    }
}
