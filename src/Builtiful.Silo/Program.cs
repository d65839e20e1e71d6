using Builtiful.Silo;

var app = BuiltifulHost.Build(args);
await app.RunAsync();
