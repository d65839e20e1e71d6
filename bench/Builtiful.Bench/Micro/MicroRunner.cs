using BenchmarkDotNet.Filters;
using System.Globalization;
using System.Text.Json.Nodes;
using BenchmarkDotNet.Columns;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Diagnosers;
using BenchmarkDotNet.Jobs;
using BenchmarkDotNet.Loggers;
using BenchmarkDotNet.Reports;
using BenchmarkDotNet.Running;
using BenchmarkDotNet.Toolchains.InProcess.Emit;
using Perfolizer.Horology;

namespace Builtiful.Bench.Micro;

/// <summary>
/// Runs a BenchmarkDotNet class in this process (the in-process emit toolchain: no project generation, no child
/// build) and returns its rows. --quick uses ShortRun (2 warm-ups, 3 iterations of 60 ms, no overhead evaluation); the full run uses BenchmarkDotNet's
/// default job. BenchmarkDotNet's own log goes to a temporary folder, not the console or the repository.
/// </summary>
public static class MicroRunner
{
    public static MicroResult Run<T>(bool quick, int quickIterations = 3, int quickIterationMs = 60, Func<string, bool>? quickMethods = null)
    {
        var log = new AccumulationLogger();
        // Quick: the overhead of an empty call (~15 ns) is not worth its 20 iterations next to microseconds of work.
        var job = (quick
                ? Job.ShortRun.WithIterationTime(TimeInterval.FromMilliseconds(quickIterationMs)).WithWarmupCount(2).WithIterationCount(quickIterations).WithEvaluateOverhead(false)
                : Job.Default)
            .WithToolchain(InProcessEmitToolchain.Instance)
            .WithId(quick ? $"ShortRun-{quickIterationMs}ms" : "Default");
        var config = ManualConfig.CreateEmpty()
            .AddJob(job)
            .AddDiagnoser(MemoryDiagnoser.Default)
            .AddColumnProvider(DefaultColumnProviders.Instance)
            .AddLogger(log)
            .WithArtifactsPath(Path.Combine(Path.GetTempPath(), "builtiful-bench-artifacts"))
            .WithOptions(ConfigOptions.DisableLogFile);
        if (quick && quickMethods is not null)
        {
            config = config.AddFilter(new SimpleFilter(b => quickMethods(b.Descriptor.WorkloadMethod.Name)));
        }

        var summary = BenchmarkRunner.Run<T>(config);
        var rows = new List<MicroRow>();
        foreach (var report in summary.Reports)
        {
            var benchmark = report.BenchmarkCase;
            var name = benchmark.Descriptor.WorkloadMethodDisplayInfo;
            var parameters = benchmark.HasParameters ? benchmark.Parameters.DisplayInfo : "";
            var category = benchmark.Descriptor.Categories.FirstOrDefault() ?? "";
            rows.Add(new MicroRow(
                typeof(T).Name,
                name.Trim('\''),
                parameters,
                category,
                benchmark.Descriptor.Baseline,
                report.ResultStatistics?.Mean ?? double.NaN,
                report.ResultStatistics?.Median ?? double.NaN,
                report.ResultStatistics?.StandardError ?? double.NaN,
                report.GcStats.GetBytesAllocatedPerOperation(benchmark)));
        }

        string? failed = null;
        if (summary.HasCriticalValidationErrors || summary.Reports.Length == 0 || summary.Reports.Any(r => !r.Success))
        {
            var logPath = Path.Combine(Path.GetTempPath(), "builtiful-bench-artifacts", typeof(T).Name + ".log");
            Directory.CreateDirectory(Path.GetDirectoryName(logPath)!);
            File.WriteAllText(logPath, log.GetLog());
            var lines = log.GetLog().Split('\n').Where(l => l.Contains("Exception", StringComparison.Ordinal) || l.Contains("rror", StringComparison.Ordinal)).Take(8);
            failed = string.Join("; ", summary.ValidationErrors.Where(e => e.IsCritical).Select(e => e.Message)
                .Concat(summary.Reports.Where(r => !r.Success).Select(r => $"{r.BenchmarkCase.Descriptor.WorkloadMethodDisplayInfo} failed"))
                .Concat(lines).Append($"BenchmarkDotNet's log: {logPath}"));
        }
        return new MicroResult(rows, failed);
    }
}

public sealed record MicroRow(string Class, string Name, string Parameters, string Category, bool Baseline, double MeanNs, double MedianNs, double StandardErrorNs, long? AllocatedBytes)
{
    public JsonObject ToJson() => new()
    {
        ["name"] = Name,
        ["parameters"] = Parameters.Length > 0 ? Parameters : null,
        ["category"] = Category.Length > 0 ? Category : null,
        ["mean_ns"] = Round(MeanNs),
        ["median_ns"] = Round(MedianNs),
        ["stderr_ns"] = Round(StandardErrorNs),
        ["allocated_bytes"] = AllocatedBytes,
    };

    public static string Time(double ns) => double.IsNaN(ns) ? "n/a"
        : ns >= 1_000_000 ? (ns / 1_000_000).ToString("0.000", CultureInfo.InvariantCulture) + " ms"
        : ns >= 1_000 ? (ns / 1_000).ToString("0.00", CultureInfo.InvariantCulture) + " µs"
        : ns.ToString("0.0", CultureInfo.InvariantCulture) + " ns";

    private static double? Round(double value) => double.IsFinite(value) ? Math.Round(value, 1) : null;
}

public sealed record MicroResult(IReadOnlyList<MicroRow> Rows, string? Failure)
{
    /// <summary>Mean of <paramref name="name"/> over the baseline of the same category (and parameters).</summary>
    public double? Ratio(string name, string baseline)
    {
        var row = Rows.FirstOrDefault(r => r.Name == name);
        var reference = Rows.FirstOrDefault(r => r.Name == baseline && r.Parameters == row?.Parameters);
        return row is null || reference is null || !(reference.MeanNs > 0) || !double.IsFinite(row.MeanNs) ? null : Math.Round(row.MeanNs / reference.MeanNs, 3);
    }

    public MicroRow? Row(string name, string parameters = "") =>
        Rows.FirstOrDefault(r => r.Name == name && (parameters.Length == 0 || r.Parameters.Contains(parameters, StringComparison.Ordinal)));
}
