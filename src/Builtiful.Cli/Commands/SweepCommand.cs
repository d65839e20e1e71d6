using System.CommandLine;

namespace Builtiful.Cli.Commands;

/// <summary><c>builtiful sweep</c>: run the reconciler now instead of waiting for its next period.</summary>
public static class SweepCommand
{
    public static Command Create(CliOptions options)
    {
        var provider = new Option<string?>("--provider") { Description = "The compute provider's reconciler (default: the cluster's own, as configured on the gateway)." };
        var command = new Command("sweep", "Trigger a reconciliation sweep: instances with no live lease or past their deadline are terminated. Needs the operator role.")
        {
            provider,
        };
        command.SetApiAction(options, async context =>
        {
            var progress = Progress.Start(context.Error);
            progress.Report("sweeping");
            var answer = await context.Client.PostAsync("/api/v1/reconciliation/sweep" + Query.Of(("provider", context.Value(provider))), null, context.CancellationToken);
            if (!answer.Succeeded)
            {
                return context.Fail(answer);
            }

            if (context.Json)
            {
                return context.PrintJson(answer);
            }

            var report = answer.Json;
            progress.Report("done");
            await context.Output.WriteLineAsync($"{Cells.Text(report, "provider")}: examined {Cells.Text(report, "instancesExamined")} instances, terminated {Cells.Text(report, "terminated")}" +
                (report.GetProperty("truncated").GetBoolean() ? " (truncated: more remain for the next sweep)" : ""));
            foreach (var reason in report.GetProperty("reasons").EnumerateArray())
            {
                await context.Output.WriteLineAsync("  " + reason.GetString());
            }

            return ExitCodes.Ok;
        });
        return command;
    }
}
