using Builtiful.Bench;

// Options (and the host's `serve`) in BenchCommand; the scenarios in BenchRun.
return await BenchCommand.Create().Parse(args).InvokeAsync();
