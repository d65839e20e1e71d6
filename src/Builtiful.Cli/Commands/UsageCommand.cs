using System.CommandLine;

namespace Builtiful.Cli.Commands;

/// <summary><c>builtiful usage</c>: an installation's billable minutes per machine type in a month, and its job metrics.</summary>
public static class UsageCommand
{
    public static Command Create(CliOptions options)
    {
        var installationId = new Argument<long>("installation-id") { Description = "The GitHub App installation id." };
        var month = new Option<string?>("--month") { Description = "The month, yyyy-MM (default: this month, UTC)." };
        var csv = new Option<bool>("--csv") { Description = "Print the API's CSV (one row per machine type), for billing imports." };
        var command = new Command("usage", "Billable minutes per machine type for an installation and month, with queue-time and duration metrics.")
        {
            installationId, month, csv,
        };
        command.SetApiAction(options, async context =>
        {
            var path = $"/api/v1/organisations/{context.Value(installationId)}/usage" + Query.Of(("month", context.Value(month)));
            if (context.Value(csv))
            {
                var text = await context.Client.GetAsync(path, context.CancellationToken, accept: "text/csv");
                if (!text.Succeeded)
                {
                    return context.Fail(text);
                }

                await context.Output.WriteAsync(text.Body);
                return ExitCodes.Ok;
            }

            var answer = await context.Client.GetAsync(path, context.CancellationToken);
            if (!answer.Succeeded)
            {
                return context.Fail(answer);
            }

            if (context.Json)
            {
                return context.PrintJson(answer);
            }

            var usage = answer.Json;
            await context.Output.WriteLineAsync($"Installation {Cells.Text(usage, "installationId")}, {Cells.Text(usage, "month")}: " +
                $"{Cells.Text(usage, "jobs")} jobs, {Cells.Text(usage, "totalMinutes")} billable minutes");
            var table = new Table("MACHINE TYPE", "JOBS", "MINUTES");
            var jobs = usage.GetProperty("jobsByMachineType");
            foreach (var minutes in usage.GetProperty("minutes").EnumerateObject())
            {
                table.Add(minutes.Name, jobs.TryGetProperty(minutes.Name, out var count) ? count.GetRawText() : "0", minutes.Value.GetRawText());
            }

            table.WriteTo(context.Output);
            await context.Output.WriteLineAsync($"Queue time: median {Cells.Duration(usage, "queueTimeP50Seconds") ?? "-"}, " +
                $"average {Cells.Duration(usage, "queueTimeAverageSeconds") ?? "-"}; average duration {Cells.Duration(usage, "durationAverageSeconds") ?? "-"}");
            return ExitCodes.Ok;
        });
        return command;
    }
}
