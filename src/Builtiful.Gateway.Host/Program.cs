using Builtiful.Gateway.Host;
using Microsoft.Extensions.Options;

WebApplication app;
try
{
    app = GatewayHost.Build(args);
}
catch (OptionsValidationException refused)
{
    // As the production silo refuses: every missing key at once, exit code 2, no stack trace.
    await Console.Error.WriteLineAsync("The gateway will not start:");
    foreach (var problem in refused.Failures)
    {
        await Console.Error.WriteLineAsync($"  {problem}");
    }

    return 2;
}

await app.RunAsync();
return 0;
