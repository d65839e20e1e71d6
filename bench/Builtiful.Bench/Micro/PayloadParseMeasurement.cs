using System.Diagnostics;
using System.Globalization;
using System.Text;
using Builtiful.Gateway.Webhooks;
using Builtiful.Testing;

namespace Builtiful.Bench.Micro;

/// <summary>
/// <c>Builtiful.Bench payload-parse [iterations] [rounds]</c>: the gateway's <c>workflow_job</c> parse alone, over every
/// real fixture as GitHub sent it and as a Builtiful job (our label, a runner name), in process CPU time and bytes
/// allocated per payload. With several parsers listed (as when the hand-written one was compared, docs/performance.md),
/// rounds alternate their order so that a neighbour's load on the shared cores falls on each. CPU time rather than wall
/// time: the machine is shared.
/// </summary>
public static class PayloadParseMeasurement
{
    private static readonly (string Name, Func<byte[], object?> Parse)[] Parsers =
    [
        ("STJ source-generated", body => WorkflowJobPayload.Parse(body)),
    ];

    public static int Run(string[] args)
    {
        var iterations = args.Length > 0 ? int.Parse(args[0], CultureInfo.InvariantCulture) : 20_000;
        var rounds = args.Length > 1 ? int.Parse(args[1], CultureInfo.InvariantCulture) : 3;
        var fixtures = Payloads.All().Where(f => f.StartsWith("workflow_job.", StringComparison.Ordinal)).Order(StringComparer.Ordinal).ToArray();
        var bodies = fixtures
            .SelectMany(f => new[]
            {
                Encoding.UTF8.GetBytes(Payloads.Read(f)),
                Encoding.UTF8.GetBytes(Payloads.WorkflowJob(f, 4_242_424_242, 42_424_242, runnerName: "builtiful-" + Guid.NewGuid().ToString("N"))),
            })
            .ToArray();
        Console.WriteLine($"payload-parse: {bodies.Length} bodies ({fixtures.Length} fixtures x raw/ours, {bodies.Sum(b => b.Length) / bodies.Length} B on average), " +
            $"{iterations:N0} parses of each per parser per round, {rounds} rounds; process CPU time and bytes allocated on this thread");

        // Warm-up: every parser through the JIT's tiers before anything is timed.
        foreach (var (_, parse) in Parsers)
        {
            Measure(parse, bodies, Math.Max(iterations / 4, 1_000));
        }

        var results = Parsers.ToDictionary(p => p.Name, _ => new List<(double Ns, double Bytes)>());
        for (var round = 1; round <= rounds; round++)
        {
            // Alternate the order each round: old, new / new, old / ...
            var order = round % 2 == 1 ? Parsers : [.. Parsers.Reverse()];
            foreach (var (name, parse) in order)
            {
                var result = Measure(parse, bodies, iterations);
                results[name].Add(result);
                Console.WriteLine($"  round {round}  {name,-30} {result.Ns,8:F0} ns CPU/payload  {result.Bytes,8:F0} B/payload");
            }
        }

        foreach (var (name, runs) in results)
        {
            var ns = runs.Select(r => r.Ns).Order().ToArray();
            Console.WriteLine($"{name,-30} median {ns[ns.Length / 2]:F0} ns (range {ns[0]:F0}-{ns[^1]:F0}), {runs[0].Bytes:F0} B per payload");
        }

        return 0;
    }

    private static (double Ns, double Bytes) Measure(Func<byte[], object?> parse, byte[][] bodies, int iterations)
    {
        GC.Collect();
        GC.WaitForPendingFinalizers();
        using var self = Process.GetCurrentProcess();
        var cpuBefore = self.TotalProcessorTime;
        var bytesBefore = GC.GetAllocatedBytesForCurrentThread();
        for (var i = 0; i < iterations; i++)
        {
            foreach (var body in bodies)
            {
                if (parse(body) is null)
                {
                    throw new InvalidOperationException("A fixture parsed to nothing.");
                }
            }
        }

        var bytes = GC.GetAllocatedBytesForCurrentThread() - bytesBefore;
        self.Refresh();
        var cpu = self.TotalProcessorTime - cpuBefore;
        var payloads = (double)iterations * bodies.Length;
        return (cpu.TotalNanoseconds / payloads, bytes / payloads);
    }
}
