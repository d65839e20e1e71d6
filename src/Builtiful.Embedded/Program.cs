using Builtiful.Embedded;

// Silo, webhook gateway, admin API and dashboard, on a simulated cloud and GitHub: see EmbeddedHost.
var app = EmbeddedHost.Build(args);
await app.RunAsync();
