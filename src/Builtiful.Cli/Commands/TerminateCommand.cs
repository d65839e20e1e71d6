using System.CommandLine;

namespace Builtiful.Cli.Commands;

/// <summary><c>builtiful terminate</c>: destroy a lease's VM now, and wait until the provider confirms it is gone.</summary>
public static class TerminateCommand
{
    private static readonly TimeSpan PollInterval = TimeSpan.FromSeconds(1);

    public static Command Create(CliOptions options)
    {
        var leaseId = new Argument<Guid>("lease-id") { Description = "The lease whose VM goes." };
        var reason = new Option<string?>("--reason") { Description = "Why; recorded as the lease's end reason." };
        var noWait = new Option<bool>("--no-wait") { Description = "Return once termination has begun instead of waiting for the VM to be gone." };
        var timeout = new Option<TimeSpan>("--timeout") { Description = "How long to wait for the VM to be gone.", DefaultValueFactory = _ => TimeSpan.FromMinutes(5) };
        var command = new Command("terminate", "Terminate a lease's VM whatever it is doing. Needs the operator role.") { leaseId, reason, noWait, timeout };
        command.SetApiAction(options, async context =>
        {
            var id = context.Value(leaseId);
            var progress = Progress.Start(context.Error);
            progress.Report($"terminating lease {id}");
            var answer = await context.Client.PostAsync($"/api/v1/leases/{id}/terminate", new { reason = context.Value(reason) }, context.CancellationToken);
            if (!answer.Succeeded)
            {
                return context.Fail(answer);
            }

            var phase = Cells.Text(answer.Json, "phase");
            progress.Report($"lease {id} is {phase}");
            if (!context.Value(noWait))
            {
                var deadline = context.Value(timeout);
                while (phase is not ("terminated" or "failed"))
                {
                    if (progress.Elapsed > deadline)
                    {
                        await context.Error.WriteLineAsync($"Lease {id} is still {phase} after {Progress.Format(deadline)}; its organisation's reminder keeps retrying.");
                        return ExitCodes.Failed;
                    }

                    await Task.Delay(PollInterval, context.CancellationToken);
                    var view = await context.Client.GetAsync($"/api/v1/leases/{id}", context.CancellationToken);
                    if (!view.Succeeded)
                    {
                        return context.Fail(view);
                    }

                    var now = Cells.Text(view.Json, "phase");
                    if (now != phase)
                    {
                        phase = now;
                        progress.Report($"lease {id} is {phase}");
                    }
                }
            }

            await context.Output.WriteLineAsync($"Lease {id}: {phase}");
            return ExitCodes.Ok;
        });
        return command;
    }
}
