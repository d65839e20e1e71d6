using System.Diagnostics.Metrics;

namespace Builtiful.Compute.Ec2.Api;

/// <summary>Meter <c>Builtiful.Ec2</c>. Static, so the API wrapper records with one line wherever it is constructed.</summary>
public static class Ec2Metrics
{
    public const string MeterName = "Builtiful.Ec2";

    private static readonly Meter Meter = new(MeterName);

    private static readonly Counter<long> Throttles = Meter.CreateCounter<long>(
        "builtiful.ec2.throttles", "{response}", "EC2 answers that throttled us (RequestLimitExceeded and kin), by action and target.");

    public static void RecordThrottle(string action, string target) =>
        Throttles.Add(1, new KeyValuePair<string, object?>("action", action), new KeyValuePair<string, object?>("target", target));
}
