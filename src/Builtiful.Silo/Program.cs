using Builtiful.Silo;

// run (the default), migrate, rotate-keys: see BuiltifulCommands; the silo itself is ProductionSilo.
return await BuiltifulCommands.Create().Parse(args).InvokeAsync();
