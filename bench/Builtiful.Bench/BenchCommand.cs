using System.CommandLine;
using Builtiful.Bench.Hosting;

namespace Builtiful.Bench;

/// <summary>The bench's command line: the run's options, and <c>serve</c>, the host child process the run starts.</summary>
internal static class BenchCommand
{
    public static RootCommand Create()
    {
        var quick = new Option<bool>("--quick") { Description = "Short windows (under 3 minutes on 2 cores); without it, the full set." };
        var only = new Option<string?>("--only") { Description = "Run only these parts, comma-separated: ingest, lifecycle, floor, burst, memory, starts, micro, ec2, pg, pgstorage." };
        var connections = new Option<int?>("--connections") { Description = "HTTP/1.1 connections of the load generator (24)." };
        var installations = new Option<int?>("--installations") { Description = "GitHub App installations the jobs spread over (50)." };
        var output = new Option<string?>("--out") { Description = "Where to write the JSON (bench/results/latest.json)." };
        var warmup = new Option<double?>("--warmup") { Description = "Override the warm-up (minimum), in seconds." };
        var measure = new Option<double?>("--measure") { Description = "Override the measured window, in seconds." };
        var host = new Option<string?>("--host")
        {
            Description = "Run the host from a ReadyToRun publish of this project, as production (r2r; the full run's default), "
                + "or from the build output (jit; --quick's default: the first publish takes ~40 s of CPU).",
        };
        host.AcceptOnlyFromAmong("r2r", "jit");
        var hold = new Option<int?>("--hold") { Description = "Keep the host alive S seconds after the memory fill (to attach dotnet-gcdump)." };
        var holdBeforeFill = new Option<int?>("--hold-before-fill") { Description = "Keep the host alive S seconds before the memory fill (what completed jobs left behind)." };
        var allocations = new Option<bool>("--allocations") { Description = "Sample the host's allocations by type during the memory fill (the runtime's allocation ticks) and report the largest." };

        var serve = new Command("serve", "The host child process the bench starts (not for people).") { TreatUnmatchedTokensAsErrors = false };
        serve.SetAction((parse, _) => BenchHost.ServeAsync([.. parse.UnmatchedTokens]));
        var root = new RootCommand("Builtiful benchmarks (issue 6). Writes bench/results/latest.json and prints a table.\n"
            + "  dotnet run -c Release --project bench/Builtiful.Bench -- [--quick] [options]")
        {
            quick, only, connections, installations, output, warmup, measure, host, hold, holdBeforeFill, allocations,
        };
        root.Subcommands.Add(serve);
        root.SetAction((parse, _) =>
        {
            var defaults = new BenchOptions();
            var options = defaults with
            {
                Quick = parse.GetValue(quick),
                Only = parse.GetValue(only) is { } parts ? [.. parts.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)] : defaults.Only,
                Connections = parse.GetValue(connections) ?? defaults.Connections,
                Installations = parse.GetValue(installations) ?? defaults.Installations,
                Output = parse.GetValue(output) ?? defaults.Output,
                WarmupOverride = parse.GetValue(warmup) is { } w ? TimeSpan.FromSeconds(w) : defaults.WarmupOverride,
                MeasureOverride = parse.GetValue(measure) is { } m ? TimeSpan.FromSeconds(m) : defaults.MeasureOverride,
                HostReadyToRunOption = parse.GetValue(host) switch { "r2r" => true, "jit" => false, _ => defaults.HostReadyToRunOption },
                HoldSeconds = parse.GetValue(hold) ?? defaults.HoldSeconds,
                HoldBeforeFillSeconds = parse.GetValue(holdBeforeFill) ?? defaults.HoldBeforeFillSeconds,
                AllocationSamples = parse.GetValue(allocations),
            };
            return BenchRun.RunAsync(options);
        });
        return root;
    }
}
