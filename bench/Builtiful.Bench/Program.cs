using Builtiful.Bench;
using Builtiful.Bench.Micro;

// The parser measurement (issue 16's workflow_job comparison) stands apart; options and the host's `serve` are in
// BenchCommand; the scenarios in BenchRun.
if (args is ["payload-parse", ..])
{
    return PayloadParseMeasurement.Run(args[1..]);
}

return await BenchCommand.Create().Parse(args).InvokeAsync();
