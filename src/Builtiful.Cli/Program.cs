using Builtiful.Cli;

return await BuiltifulCli.RunAsync(args, Console.Out, Console.Error);
