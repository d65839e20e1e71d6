using Builtiful.Cli;

namespace Builtiful.Cli.Tests;

/// <summary>One run of the <c>builtiful</c> program, in-process, with what it printed.</summary>
public sealed record CliRun(int ExitCode, string Output, string Error)
{
    public override string ToString() => $"exit {ExitCode}\n--- stdout\n{Output}\n--- stderr\n{Error}";
}

public static class Cli
{
    public static async Task<CliRun> RunAsync(params string[] args)
    {
        using var output = new StringWriter();
        using var error = new StringWriter();
        var exit = await BuiltifulCli.RunAsync(args, output, error);
        return new CliRun(exit, output.ToString(), error.ToString());
    }

    /// <summary>Against a running all-in-one, with its token and webhook secret given as options (never from this machine's environment).</summary>
    public static Task<CliRun> RunAsync(BuiltifulInstance builtiful, params string[] args) =>
        RunAsync([.. args, "--url", builtiful.BaseAddress.ToString(), "--token", BuiltifulInstance.AdminToken, "--secret", BuiltifulInstance.WebhookSecret]);
}
