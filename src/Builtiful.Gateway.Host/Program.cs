using Builtiful.Gateway.Host;

var app = GatewayHost.Build(args);
await app.RunAsync();
