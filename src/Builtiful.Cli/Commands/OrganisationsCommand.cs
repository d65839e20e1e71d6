using System.CommandLine;
using System.Globalization;

namespace Builtiful.Cli.Commands;

/// <summary><c>builtiful orgs</c>: list installations; show, suspend, resume one, or change its limits or repository policy.</summary>
public static class OrganisationsCommand
{
    public static Command Create(CliOptions options)
    {
        var status = new Option<string?>("--status") { Description = "Only installations with this status: active, suspended, deleted or unknown." };
        var all = new Option<bool>("--all") { Description = "Follow every page, not only the first." };
        var offset = CliOptions.Offset();
        var limit = CliOptions.Limit();
        var command = new Command("orgs", "List GitHub App installations (organisations), or act on one.") { status, all, offset, limit };
        command.SetApiAction(options, async context =>
        {
            var table = new Table("INSTALLATION", "LOGIN", "STATUS", "OPERATOR HOLD", "LEASES", "WAITING", "MAX VMS");
            var next = context.Value(offset) ?? 0;
            var progress = context.Value(all) ? Progress.Start(context.Error) : null;
            do
            {
                var query = Query.Of(("status", context.Value(status)), ("offset", next.ToString(CultureInfo.InvariantCulture)), ("limit", context.Value(limit)?.ToString(CultureInfo.InvariantCulture)));
                var answer = await context.Client.GetAsync("/api/v1/organisations" + query, context.CancellationToken);
                if (!answer.Succeeded)
                {
                    return context.Fail(answer);
                }

                if (context.Json && progress is null)
                {
                    return context.PrintJson(answer);
                }

                var page = answer.Json;
                foreach (var org in page.GetProperty("items").EnumerateArray())
                {
                    table.Add(Cells.Text(org, "installationId"), Cells.Text(org, "login"), Cells.Text(org, "status"),
                        org.GetProperty("suspendedByOperator").GetBoolean() ? Cells.Text(org, "suspensionReason") : "", Cells.Text(org, "liveLeases"),
                        Cells.Text(org, "waitingJobs"), Cells.Text(org, "maxConcurrentVms"));
                }

                next = page.GetProperty("nextOffset").ValueKind == System.Text.Json.JsonValueKind.Number ? page.GetProperty("nextOffset").GetInt32() : -1;
                progress?.Report($"{table.Count} of {page.GetProperty("total").GetInt32()} installations");
            }
            while (progress is not null && next >= 0);

            table.WriteTo(context.Output);
            return ExitCodes.Ok;
        });

        command.Subcommands.Add(Show(options));
        command.Subcommands.Add(Suspend(options));
        command.Subcommands.Add(Resume(options));
        command.Subcommands.Add(Limits(options));
        command.Subcommands.Add(RepositoryPolicy(options));
        return command;
    }

    private static Argument<long> InstallationId() => new("installation-id") { Description = "The GitHub App installation id." };

    private static Command Show(CliOptions options)
    {
        var id = InstallationId();
        var command = new Command("show", "Show one installation: status, limits, live leases and waiting jobs (JSON).") { id };
        command.SetApiAction(options, async context =>
        {
            var answer = await context.Client.GetAsync($"/api/v1/organisations/{context.Value(id)}", context.CancellationToken);
            return answer.Succeeded ? context.PrintJson(answer) : context.Fail(answer);
        });
        return command;
    }

    private static Command Suspend(CliOptions options)
    {
        var id = InstallationId();
        var reason = new Option<string?>("--reason") { Description = "Why; other operators see it on the installation." };
        var command = new Command("suspend", "Hold an installation: new jobs are refused and idle VMs released; running jobs finish. Needs the operator role.") { id, reason };
        command.SetApiAction(options, async context =>
        {
            var answer = await context.Client.PostAsync($"/api/v1/organisations/{context.Value(id)}/suspend", new { reason = context.Value(reason) }, context.CancellationToken);
            if (!answer.Succeeded)
            {
                return context.Fail(answer);
            }

            await context.Output.WriteLineAsync($"Installation {context.Value(id)} is suspended by an operator: {Cells.Text(answer.Json, "reason")}");
            return ExitCodes.Ok;
        });
        return command;
    }

    private static Command Resume(CliOptions options)
    {
        var id = InstallationId();
        var command = new Command("resume", "Lift an operator's suspension; waiting jobs start. Needs the operator role.") { id };
        command.SetApiAction(options, async context =>
        {
            var answer = await context.Client.PostAsync($"/api/v1/organisations/{context.Value(id)}/resume", null, context.CancellationToken);
            if (!answer.Succeeded)
            {
                return context.Fail(answer);
            }

            await context.Output.WriteLineAsync($"Installation {context.Value(id)} is no longer held by an operator.");
            return ExitCodes.Ok;
        });
        return command;
    }

    private static Command Limits(CliOptions options)
    {
        var id = InstallationId();
        var maxVms = new Option<int?>("--max-vms") { Description = "VMs the installation may run at once; more jobs wait in line." };
        var allow = new Option<string[]>("--allow") { Description = "Machine-type labels it may use (repeat the option); --allow none allows every type.", AllowMultipleArgumentsPerToken = true };
        var lifetime = new Option<TimeSpan?>("--max-lifetime") { Description = "Longest life of one VM, hh:mm:ss." };
        var command = new Command("limits", "Change an installation's limits; options left out keep their value. Needs the operator role.") { id, maxVms, allow, lifetime };
        command.SetApiAction(options, async context =>
        {
            var allowed = context.Value(allow) is { Length: > 0 } labels ? labels is ["none"] ? [] : labels : null;
            var answer = await context.Client.PutAsync($"/api/v1/organisations/{context.Value(id)}/limits",
                new { maxConcurrentVms = context.Value(maxVms), allowedMachineTypes = allowed, maxJobLifetime = context.Value(lifetime) }, context.CancellationToken);
            return answer.Succeeded ? context.PrintJson(answer) : context.Fail(answer);
        });
        return command;
    }

    private static Command RepositoryPolicy(CliOptions options)
    {
        var id = InstallationId();
        var repositories = new Option<string[]>("--allow-repo")
        {
            Description = "Only these repositories (owner/name, repeat the option) may start VMs; --allow-repo all removes the allow-list.",
            AllowMultipleArgumentsPerToken = true,
        };
        var publicRepositories = new Option<string?>("--public")
        {
            Description = "allow: jobs of public repositories get VMs (pull requests from forks can run untrusted code); refuse: they do not (the default).",
        };
        publicRepositories.AcceptOnlyFromAmong("allow", "refuse");
        var command = new Command("repos", "Show an installation's repository policy, or change it (the operator role): an allow-list and the public-repository opt-in.")
        {
            id, repositories, publicRepositories,
        };
        command.SetApiAction(options, async context =>
        {
            var path = $"/api/v1/organisations/{context.Value(id)}/repository-policy";
            var allowed = context.Value(repositories) is { Length: > 0 } names ? names is ["all"] ? [] : names : null;
            bool? allowPublic = context.Value(publicRepositories) switch
            {
                "allow" => true,
                "refuse" => false,
                _ => null,
            };
            var answer = allowed is null && allowPublic is null
                ? await context.Client.GetAsync(path, context.CancellationToken)
                : await context.Client.PutAsync(path, new { allowedRepositories = allowed, allowPublicRepositories = allowPublic }, context.CancellationToken);
            if (!answer.Succeeded)
            {
                return context.Fail(answer);
            }

            if (context.Json)
            {
                return context.PrintJson(answer);
            }

            var policy = answer.Json;
            var list = policy.GetProperty("allowedRepositories").EnumerateArray().Select(r => r.GetString()).ToList();
            await context.Output.WriteLineAsync($"Installation {context.Value(id)}:");
            await context.Output.WriteLineAsync(list.Count == 0
                ? "  repositories: all repositories of the installation"
                : "  repositories: only " + string.Join(", ", list));
            await context.Output.WriteLineAsync(policy.GetProperty("allowPublicRepositories").GetBoolean()
                ? "  public repositories: allowed"
                : "  public repositories: refused");
            return ExitCodes.Ok;
        });
        return command;
    }
}
