using System.Collections.Concurrent;
using System.Net;
using System.Text;

namespace Builtiful.Compute.Ec2.Tests;

/// <summary>
/// Sits between the AWS SDK and moto_server: records every EC2 request, and fails the ones a test picks the way EC2
/// fails (throttling, capacity, 5xx, lost answers, stale reads), which moto itself never does.
/// </summary>
public sealed class Ec2FaultInjector(TimeProvider clock) : DelegatingHandler(new SocketsHttpHandler { PooledConnectionIdleTimeout = TimeSpan.FromSeconds(10) })
{
    private readonly ConcurrentQueue<Ec2Call> _calls = new();
    private readonly List<Rule> _rules = [];

    public IReadOnlyList<Ec2Call> Calls => [.. _calls];

    public IReadOnlyList<Ec2Call> CallsTo(string action) => [.. _calls.Where(c => c.Action == action)];

    /// <summary>Applies the fault to the next <paramref name="times"/> requests of the action that match.</summary>
    public void Inject(string action, Ec2Fault fault, int times = 1, Func<Ec2Call, bool>? when = null)
    {
        lock (_rules)
        {
            _rules.Add(new Rule(action, when ?? (_ => true), fault, times));
        }
    }

    public void ClearFaults()
    {
        lock (_rules)
        {
            _rules.Clear();
        }
    }

    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        var body = await Ec2RequestBody.ReadAndReplaceAsync(request, cancellationToken);

        var parameters = Parse(body);
        var call = new Ec2Call(parameters.GetValueOrDefault("Action", "?"), parameters, clock.GetUtcNow());
        _calls.Enqueue(call);
        switch (Take(call))
        {
            case Ec2Fault.Error error:
                return ErrorResponse(error);
            case Ec2Fault.Unreachable:
                throw new HttpRequestException("Connection refused (injected)", new IOException("Connection refused"));
            case Ec2Fault.LoseAnswer:
                using (await base.SendAsync(request, cancellationToken))
                {
                    throw new HttpRequestException("The response ended prematurely (injected, after moto acted)", new IOException("Connection reset by peer"));
                }

            case Ec2Fault.EmptyDescribe:
                return new HttpResponseMessage(HttpStatusCode.OK)
                {
                    Content = new StringContent(
                        "<?xml version=\"1.0\" encoding=\"UTF-8\"?><DescribeInstancesResponse xmlns=\"http://ec2.amazonaws.com/doc/2016-11-15/\">" +
                        $"<requestId>{Guid.NewGuid()}</requestId><reservationSet/></DescribeInstancesResponse>",
                        Encoding.UTF8,
                        "text/xml"),
                };
            case Ec2Fault.Hold hold:
                hold.Reached.TrySetResult();
                await hold.Gate.WaitAsync(cancellationToken);
                return await base.SendAsync(request, cancellationToken);
            default:
                return await base.SendAsync(request, cancellationToken);
        }
    }

    private Ec2Fault? Take(Ec2Call call)
    {
        lock (_rules)
        {
            foreach (var rule in _rules)
            {
                if (rule.Remaining > 0 && rule.Action == call.Action && rule.When(call))
                {
                    rule.Remaining--;
                    return rule.Fault;
                }
            }
        }

        return null;
    }

    private static HttpResponseMessage ErrorResponse(Ec2Fault.Error error) => new(error.Status)
    {
        Content = new StringContent(
            $"<?xml version=\"1.0\" encoding=\"UTF-8\"?><Response><Errors><Error><Code>{error.Code}</Code><Message>{WebUtility.HtmlEncode(error.Message)}</Message></Error></Errors>" +
            $"<RequestID>{Guid.NewGuid()}</RequestID></Response>",
            Encoding.UTF8,
            "text/xml"),
    };

    private static Dictionary<string, string> Parse(string body)
    {
        var parameters = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var pair in body.Split('&', StringSplitOptions.RemoveEmptyEntries))
        {
            var equals = pair.IndexOf('=', StringComparison.Ordinal);
            var key = Uri.UnescapeDataString((equals < 0 ? pair : pair[..equals]).Replace('+', ' '));
            var value = equals < 0 ? "" : Uri.UnescapeDataString(pair[(equals + 1)..].Replace('+', ' '));
            parameters[key] = value;
        }

        return parameters;
    }

    private sealed class Rule(string action, Func<Ec2Call, bool> when, Ec2Fault fault, int times)
    {
        public string Action { get; } = action;

        public Func<Ec2Call, bool> When { get; } = when;

        public Ec2Fault Fault { get; } = fault;

        public int Remaining { get; set; } = times;
    }
}
