using System.CommandLine;

namespace Builtiful.Cli.Commands;

/// <summary><c>builtiful pools</c>: warm pools' bounds, VMs and counters; an operator's override of their bounds.</summary>
public static class PoolsCommand
{
    public static Command Create(CliOptions options)
    {
        var command = new Command("pools", "Warm pools: idle VMs booted ahead of jobs, per machine type.");
        command.Subcommands.Add(List(options));
        command.Subcommands.Add(Show(options));
        command.Subcommands.Add(Set(options));
        return command;
    }

    private static Argument<string> Name() => new("name") { Description = "The pool's name, as configured (Pools:<name>)." };

    private static Command List(CliOptions options)
    {
        var command = new Command("list", "List the configured pools: machine type, bounds, idle and booting VMs, hits, misses, launched and expired.");
        command.SetApiAction(options, async context =>
        {
            var answer = await context.Client.GetAsync("/api/v1/pools", context.CancellationToken);
            if (!answer.Succeeded)
            {
                return context.Fail(answer);
            }

            if (context.Json)
            {
                return context.PrintJson(answer);
            }

            var table = new Table("POOL", "MACHINE TYPE", "TARGET", "MIN", "MAX", "MIN NOW", "IDLE", "BOOTING", "HITS", "MISSES", "LAUNCHED", "EXPIRED");
            foreach (var pool in answer.Json.EnumerateArray())
            {
                table.Add(Cells.Text(pool, "name"), Cells.Text(pool, "machineType"), Cells.Text(pool, "target"), Cells.Text(pool, "minIdle"),
                    Cells.Text(pool, "maxIdle"), Cells.Text(pool, "effectiveMinIdle"), Cells.Text(pool, "idle"), Cells.Text(pool, "booting"),
                    Cells.Text(pool, "hits"), Cells.Text(pool, "misses"), Cells.Text(pool, "launched"), Cells.Text(pool, "expired"));
            }

            table.WriteTo(context.Output);
            return ExitCodes.Ok;
        });
        return command;
    }

    private static Command Show(CliOptions options)
    {
        var name = Name();
        var command = new Command("show", "Show one pool with its VMs (JSON).") { name };
        command.SetApiAction(options, async context =>
        {
            var answer = await context.Client.GetAsync($"/api/v1/pools/{Uri.EscapeDataString(context.Value(name)!)}", context.CancellationToken);
            return answer.Succeeded ? context.PrintJson(answer) : context.Fail(answer);
        });
        return command;
    }

    private static Command Set(CliOptions options)
    {
        var name = Name();
        var minIdle = new Option<int?>("--min-idle") { Description = "Idle VMs to keep (overrides the configuration and its schedule)." };
        var maxIdle = new Option<int?>("--max-idle") { Description = "Most idle VMs to keep." };
        var command = new Command("set", "Override a pool's bounds at run time (stored by the pool); options left out keep their value. Needs the operator role.") { name, minIdle, maxIdle };
        command.SetApiAction(options, async context =>
        {
            var answer = await context.Client.PutAsync($"/api/v1/pools/{Uri.EscapeDataString(context.Value(name)!)}",
                new { minIdle = context.Value(minIdle), maxIdle = context.Value(maxIdle) }, context.CancellationToken);
            return answer.Succeeded ? context.PrintJson(answer) : context.Fail(answer);
        });
        return command;
    }
}
