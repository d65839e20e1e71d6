using Builtiful.Chaos;

var quick = args.Contains("--quick");
var settings = quick ? ChaosSettings.Quick : ChaosSettings.Full;
if (args.SkipWhile(a => a != "--seed").Skip(1).FirstOrDefault() is { } seed)
{
    settings = settings with { Seed = int.Parse(seed, System.Globalization.CultureInfo.InvariantCulture) };
}

if (args.SkipWhile(a => a != "--deadline").Skip(1).FirstOrDefault() is { } deadline)
{
    settings = settings with { Deadline = TimeSpan.Parse(deadline, System.Globalization.CultureInfo.InvariantCulture) };
}

if (args.SkipWhile(a => a != "--jobs").Skip(1).FirstOrDefault() is { } jobCount)
{
    settings = settings with { Jobs = int.Parse(jobCount, System.Globalization.CultureInfo.InvariantCulture) };
}

settings = settings with { KillSilo = !args.Contains("--no-kill"), RestartDatabase = !args.Contains("--no-database-restart") };
var result = await new ChaosRun(settings, Console.Out).RunAsync();
foreach (var (kind, count) in result.FaultsByKind.OrderBy(f => f.Key))
{
    Console.WriteLine($"chaos: fault {kind} x{count}");
}

foreach (var problem in result.Problems.Take(400))
{
    Console.WriteLine($"chaos: problem: {problem}");
}

Console.WriteLine(result.Summary);
return result.Passed ? 0 : 1;
