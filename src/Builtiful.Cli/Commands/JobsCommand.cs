using System.CommandLine;
using System.Globalization;

namespace Builtiful.Cli.Commands;

/// <summary><c>builtiful jobs</c>: one job, or an installation's jobs by status with queue time, duration and billed minutes.</summary>
public static class JobsCommand
{
    public static Command Create(CliOptions options)
    {
        var jobId = new Argument<long?>("job-id") { Description = "Show this job (workflow_job.id) instead of a list.", Arity = ArgumentArity.ZeroOrOne };
        var org = new Option<long?>("--org") { Description = "List this installation's jobs." };
        var status = new Option<string?>("--status") { Description = "Only jobs with this status: queued, waiting, in_progress or completed." };
        var month = new Option<string?>("--month") { Description = "Month of the completed jobs, yyyy-MM (default: this month)." };
        var offset = CliOptions.Offset();
        var limit = CliOptions.Limit();
        var command = new Command("jobs", "Show a job, or list an installation's jobs (--org): tracked ones first, then the month's completed jobs.")
        {
            jobId, org, status, month, offset, limit,
        };
        command.SetApiAction(options, async context =>
        {
            if (context.Value(jobId) is { } id)
            {
                var one = await context.Client.GetAsync($"/api/v1/jobs/{id}", context.CancellationToken);
                return one.Succeeded ? context.PrintJson(one) : context.Fail(one);
            }

            if (context.Value(org) is not { } installationId)
            {
                await context.Error.WriteLineAsync("Give a job id, or --org <installation-id> to list an installation's jobs.");
                return ExitCodes.Usage;
            }

            var query = Query.Of(("status", context.Value(status)), ("month", context.Value(month)),
                ("offset", context.Value(offset)?.ToString(CultureInfo.InvariantCulture)), ("limit", context.Value(limit)?.ToString(CultureInfo.InvariantCulture)));
            var answer = await context.Client.GetAsync($"/api/v1/organisations/{installationId}/jobs{query}", context.CancellationToken);
            if (!answer.Succeeded)
            {
                return context.Fail(answer);
            }

            if (context.Json)
            {
                return context.PrintJson(answer);
            }

            var table = new Table("JOB", "STATUS", "CONCLUSION", "MACHINE TYPE", "QUEUED FOR", "RAN FOR", "MINUTES", "REPOSITORY");
            foreach (var job in answer.Json.GetProperty("items").EnumerateArray())
            {
                table.Add(Cells.Text(job, "id"), Cells.Text(job, "status"), Cells.Text(job, "conclusion"), Cells.Text(job, "machineType"),
                    Cells.Duration(job, "queueSeconds"), Cells.Duration(job, "durationSeconds"), Cells.Text(job, "billableMinutes"), Cells.Text(job, "repository"));
            }

            table.WriteTo(context.Output);
            return ExitCodes.Ok;
        });
        return command;
    }
}
