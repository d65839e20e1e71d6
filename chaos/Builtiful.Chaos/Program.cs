using Builtiful.Chaos;

// Settings from the command line (ChaosCommand), the run itself in ChaosRun.
return await ChaosCommand.Create().Parse(args).InvokeAsync();
