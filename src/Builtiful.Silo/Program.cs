using Builtiful.Silo;

if (BuiltifulCommands.IsCommand(args))
{
    return await BuiltifulCommands.RunAsync(args, Console.Out);
}

var app = BuiltifulHost.Build(args);
await app.RunAsync();
return 0;
