using System.CommandLine;
using Builtiful.Cli.Commands;

namespace Builtiful.Cli;

/// <summary>The <c>builtiful</c> command tree; <see cref="RunAsync"/> is the whole program, so tests run it in-process.</summary>
public static class BuiltifulCli
{
    public static RootCommand Create()
    {
        var options = new CliOptions();
        var root = new RootCommand("builtiful: operate a Builtiful cluster through its admin API.")
        {
            options.Url, options.Token, options.Secret, options.Json,
        };
        root.Subcommands.Add(OrganisationsCommand.Create(options));
        root.Subcommands.Add(JobsCommand.Create(options));
        root.Subcommands.Add(LeasesCommand.Create(options));
        root.Subcommands.Add(PoolsCommand.Create(options));
        root.Subcommands.Add(UsageCommand.Create(options));
        root.Subcommands.Add(TerminateCommand.Create(options));
        root.Subcommands.Add(SweepCommand.Create(options));
        root.Subcommands.Add(ReplayCommand.Create(options));
        return root;
    }

    public static Task<int> RunAsync(string[] args, TextWriter output, TextWriter error, CancellationToken cancellationToken = default) =>
        Create().Parse(args).InvokeAsync(new InvocationConfiguration { Output = output, Error = error }, cancellationToken);
}
