using System.CommandLine;
using System.Globalization;

namespace Builtiful.Cli.Commands;

/// <summary><c>builtiful leases</c>: one lease, or leases by phase across the cluster or of one installation.</summary>
public static class LeasesCommand
{
    public static Command Create(CliOptions options)
    {
        var leaseId = new Argument<Guid?>("lease-id") { Description = "Show this lease instead of a list.", Arity = ArgumentArity.ZeroOrOne };
        var phase = new Option<string?>("--phase") { Description = "Only leases in this phase: requested, launching, booting, idle, busy, terminating, terminated or failed." };
        var org = new Option<long?>("--org") { Description = "Only this installation's leases." };
        var offset = CliOptions.Offset();
        var limit = CliOptions.Limit();
        var command = new Command("leases", "Show a lease, or list leases: live ones first, then recently ended ones.") { leaseId, phase, org, offset, limit };
        command.SetApiAction(options, async context =>
        {
            if (context.Value(leaseId) is { } id)
            {
                var one = await context.Client.GetAsync($"/api/v1/leases/{id}", context.CancellationToken);
                return one.Succeeded ? context.PrintJson(one) : context.Fail(one);
            }

            var query = Query.Of(("phase", context.Value(phase)), ("installationId", context.Value(org)?.ToString(CultureInfo.InvariantCulture)),
                ("offset", context.Value(offset)?.ToString(CultureInfo.InvariantCulture)), ("limit", context.Value(limit)?.ToString(CultureInfo.InvariantCulture)));
            var answer = await context.Client.GetAsync("/api/v1/leases" + query, context.CancellationToken);
            if (!answer.Succeeded)
            {
                return context.Fail(answer);
            }

            if (context.Json)
            {
                return context.PrintJson(answer);
            }

            var table = new Table("LEASE", "PHASE", "INSTALLATION", "MACHINE TYPE", "JOB", "INSTANCE", "REQUESTED", "END REASON");
            foreach (var lease in answer.Json.GetProperty("items").EnumerateArray())
            {
                table.Add(Cells.Text(lease, "id"), Cells.Text(lease, "phase"), Cells.Text(lease, "installationId"), Cells.Text(lease, "machineType"),
                    Cells.Text(lease, "jobId"), Cells.Text(lease, "instanceId"), Cells.Text(lease, "requestedAt"), Cells.Text(lease, "endReason"));
            }

            table.WriteTo(context.Output);
            return ExitCodes.Ok;
        });
        return command;
    }
}
