using System.Diagnostics.Metrics;
using Builtiful.Compute.Ec2.Api;
using Xunit.Abstractions;

namespace Builtiful.Compute.Ec2.Tests;

/// <summary><c>builtiful.ec2.throttles</c> counts every throttled answer, retried or final, by action.</summary>
[Collection(MotoCollection.Name)]
public sealed class ThrottleMetricTests(MotoServer moto, ITestOutputHelper output)
{
    [Fact]
    public async Task Every_throttled_answer_is_counted_by_action()
    {
        var throttles = new List<string?>();
        using var listener = new MeterListener
        {
            InstrumentPublished = (instrument, l) =>
            {
                if (instrument.Meter.Name == Ec2Metrics.MeterName && instrument.Name == "builtiful.ec2.throttles")
                {
                    l.EnableMeasurementEvents(instrument);
                }
            },
        };
        listener.SetMeasurementEventCallback<long>((_, _, tags, _) =>
        {
            lock (throttles)
            {
                throttles.Add(tags.ToArray().FirstOrDefault(t => t.Key == "action").Value as string);
            }
        });
        listener.Start();
        using var ec2 = Ec2Harness.Start(moto, output, configure: s => s["Compute:Ec2:ThrottleRetries"] = "2");
        ec2.Faults.Inject("RunInstances", Ec2Fault.Throttled(), times: int.MaxValue);

        await Assert.ThrowsAsync<Ec2LaunchException>(() => ec2.Provider.LaunchAsync(ec2.Request(), CancellationToken.None));

        lock (throttles)
        {
            // Two throttled answers were retried and the third ended the attempt: all three count.
            Assert.True(throttles.Count(a => a == "RunInstances") >= 3, $"counted {string.Join(", ", throttles)}");
        }
    }
}
