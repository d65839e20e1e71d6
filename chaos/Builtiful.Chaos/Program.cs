using System.Globalization;
using Builtiful.Chaos;

var quick = args.Contains("--quick");
var settings = quick ? ChaosSettings.Quick : ChaosSettings.Full;
if (Option("--seed") is { } seed)
{
    settings = settings with { Seed = int.Parse(seed, CultureInfo.InvariantCulture) };
}

if (Option("--deadline") is { } deadline)
{
    settings = settings with { Deadline = TimeSpan.Parse(deadline, CultureInfo.InvariantCulture) };
}

if (Option("--jobs") is { } jobCount)
{
    settings = settings with { Jobs = int.Parse(jobCount, CultureInfo.InvariantCulture) };
}

if (Option("--silos") is { } silos)
{
    settings = settings with { Silos = int.Parse(silos, CultureInfo.InvariantCulture) };
}

settings = settings with
{
    KillSilo = !args.Contains("--no-kill"),
    RestartDatabase = settings.RestartDatabase && !args.Contains("--no-database-restart"),
};
var result = await new ChaosRun(settings, Console.Out).RunAsync();
foreach (var (kind, count) in result.FaultsByKind.OrderBy(f => f.Key, StringComparer.Ordinal))
{
    Console.WriteLine($"chaos: fault {kind} x{count}");
}

foreach (var problem in result.Problems.Take(400))
{
    Console.WriteLine($"chaos: problem: {problem}");
}

Console.WriteLine(result.Summary);
return result.Passed ? 0 : 1;

string? Option(string name) => args.SkipWhile(a => a != name).Skip(1).FirstOrDefault();
