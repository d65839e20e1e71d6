using System.CommandLine;

namespace Builtiful.Chaos;

/// <summary>The chaos run's command line: which settings (quick or full, then overrides), then the run and its verdict.</summary>
internal static class ChaosCommand
{
    public static RootCommand Create()
    {
        var quick = new Option<bool>("--quick") { Description = "The quick run (200 jobs, 2 silos, 4 minutes); without it, the full one." };
        var seed = new Option<int?>("--seed") { Description = "The fault schedule's seed: the same seed replays the same faults." };
        var deadline = new Option<TimeSpan?>("--deadline") { Description = "How long the run may take, e.g. 00:10:00." };
        var jobs = new Option<int?>("--jobs") { Description = "How many jobs GitHub queues." };
        var silos = new Option<int?>("--silos") { Description = "How many silo processes run." };
        var noKill = new Option<bool>("--no-kill") { Description = "Kill no silo process." };
        var noDatabaseRestart = new Option<bool>("--no-database-restart") { Description = "Do not restart PostgreSQL (the full run does by default)." };
        var root = new RootCommand("Builtiful's chaos run: silo processes on PostgreSQL with a simulated cloud and GitHub, under faults; exits 0 when every verdict holds.")
        {
            quick, seed, deadline, jobs, silos, noKill, noDatabaseRestart,
        };
        root.SetAction(async (parse, _) =>
        {
            var settings = parse.GetValue(quick) ? ChaosSettings.Quick : ChaosSettings.Full;
            settings = settings with
            {
                Seed = parse.GetValue(seed) ?? settings.Seed,
                Deadline = parse.GetValue(deadline) ?? settings.Deadline,
                Jobs = parse.GetValue(jobs) ?? settings.Jobs,
                Silos = parse.GetValue(silos) ?? settings.Silos,
                KillSilo = !parse.GetValue(noKill),
                RestartDatabase = settings.RestartDatabase && !parse.GetValue(noDatabaseRestart),
            };
            return await RunAsync(settings, parse.InvocationConfiguration.Output);
        });
        return root;
    }

    private static async Task<int> RunAsync(ChaosSettings settings, TextWriter output)
    {
        var result = await new ChaosRun(settings, output).RunAsync();
        foreach (var (kind, count) in result.FaultsByKind.OrderBy(f => f.Key, StringComparer.Ordinal))
        {
            await output.WriteLineAsync($"chaos: fault {kind} x{count}");
        }

        foreach (var problem in result.Problems.Take(400))
        {
            await output.WriteLineAsync($"chaos: problem: {problem}");
        }

        await output.WriteLineAsync(result.PoolSummary);
        await output.WriteLineAsync(result.Summary);
        return result.Passed ? 0 : 1;
    }
}
