using System.Globalization;
using System.Text.Json.Nodes;
using Builtiful.Bench.Micro;

namespace Builtiful.Bench.Reporting;

/// <summary>The issue's goals, compared (not asserted) with what was measured.</summary>
public static class Goals
{
    /// <summary>Issue 19's goals for --quick (issue 6's decision goal kept), and issue 18's for a pool's starts.</summary>
    public static readonly (string Key, string Comparison, double Goal, string Unit)[] All =
    [
        ("ingest_per_s", ">=", 8_000, "deliveries/s"),
        ("ingest_p99_ms", "<=", 20, "ms"),
        ("decision_p99_ms", "<=", 10, "ms"),
        ("burst_deliveries_per_s", ">=", 4_000, "deliveries/s"),
        ("burst_cpu_us_per_delivery", "<=", 300, "µs"),
        ("cpu_ms_per_job", "<=", 1.0, "ms"),
        ("pg_writes_per_job", "<=", 6, "writes"),
        ("pg_ingest_per_s", ">=", 2_000, "deliveries/s"),
        ("pg_decision_p99_ms", "<=", 50, "ms"),
        ("bytes_per_lease", "<=", 6_144, "bytes"),
        ("pool_queue_to_start_p95_s", "<=", 5, "s"),
    ];

    public static JsonObject Evaluate(JsonObject results)
    {
        var goals = new JsonObject();
        foreach (var (key, comparison, goal, _) in All)
        {
            var value = Number(results[key]);
            goals[key] = new JsonObject
            {
                ["goal"] = $"{comparison} {goal.ToString(CultureInfo.InvariantCulture)}",
                ["met"] = value is { } x ? (comparison == ">=" ? x >= goal : x <= goal) : null,
            };
        }

        return goals;
    }

    public static double? Number(JsonNode? node) => node is not JsonValue v ? null
        : v.TryGetValue<double>(out var d) ? d
        : v.TryGetValue<long>(out var l) ? l
        : v.TryGetValue<int>(out var i) ? i
        : null;
}

/// <summary>The console table: the headline figures against their goals, then what each scenario saw.</summary>
public static class Report
{
    public static void Print(JsonObject results)
    {
        Console.WriteLine("Figures                      value          goal        ");
        Console.WriteLine("---------------------------  -------------  ------------  ------");
        Row(results, "ingest_per_s", "/s");
        Row(results, "ingest_p50_ms", "ms");
        Row(results, "ingest_p99_ms", "ms");
        Row(results, "decision_p50_ms", "ms");
        Row(results, "decision_p99_ms", "ms");
        Row(results, "cpu_ms_per_job", "ms");
        Row(results, "cpu_ms_per_job_at_max_rate", "ms");
        Row(results, "bytes_per_lease", "B");
        Row(results, "pg_ingest_per_s", "/s");
        Row(results, "pg_ingest_p50_ms", "ms");
        Row(results, "pg_ingest_p99_ms", "ms");
        Row(results, "pg_decision_p50_ms", "ms");
        Row(results, "pg_decision_p99_ms", "ms");
        Row(results, "pg_cpu_ms_per_job", "ms");
        Row(results, "pg_postgres_cpu_ms_per_job", "ms");
        Row(results, "ingest_cpu_us_per_delivery", "µs");
        Row(results, "lifecycle_cpu_us_per_delivery", "µs");
        Row(results, "floor_ingest_per_s", "/s");
        Row(results, "floor_p99_ms", "ms");
        Row(results, "floor_cpu_us_per_delivery", "µs");
        Row(results, "burst_deliveries_per_s", "/s");
        Row(results, "burst_cpu_us_per_delivery", "µs");
        Row(results, "burst_cpu_us_per_queued_delivery_20", "µs");
        Row(results, "burst_cpu_us_per_queued_delivery_2000", "µs");
        Row(results, "pg_ingest_cpu_us_per_delivery", "µs");
        Row(results, "pg_lifecycle_cpu_us_per_delivery", "µs");
        Row(results, "pg_burst_deliveries_per_s", "/s");
        Row(results, "pg_burst_cpu_us_per_delivery", "µs");
        Row(results, "pg_burst_postgres_cpu_us_per_delivery", "µs");
        Row(results, "pg_writes_per_job", "writes");
        Row(results, "cold_queue_to_start_p50_s", "s");
        Row(results, "cold_queue_to_start_p95_s", "s");
        Row(results, "cold_queue_to_start_burst100_p50_s", "s");
        Row(results, "cold_queue_to_start_burst100_p95_s", "s");
        Row(results, "pool_queue_to_start_p50_s", "s");
        Row(results, "pool_queue_to_start_p95_s", "s");
        Row(results, "pool_queue_to_start_burst100_p50_s", "s");
        Row(results, "pool_queue_to_start_burst100_p95_s", "s");
        Row(results, "pool_hits", "jobs");
        Row(results, "generator_cpu_ms_per_s", "ms/s");
        Row(results, "ec2_calls_per_job", "calls");
        Row(results, "ec2_run_instances_per_job", "calls");
        Row(results, "ec2_describe_instances_per_job", "calls");
        Row(results, "ec2_terminate_instances_per_job", "calls");
        Row(results, "ec2_launches_per_s", "/s");
        Row(results, "ec2_bucket_launches_per_s", "/s");

        if (results["scenarios"] is JsonObject scenarios && scenarios.Count > 0)
        {
            Console.WriteLine();
            Console.WriteLine("Scenario               rate/s   p50 ms   p90 ms   p99 ms   max ms  failed  host CPU  generator  postgres    other  machine");
            Console.WriteLine("                                                                           ms/s       ms/s      ms/s     ms/s     busy");
            Console.WriteLine("---------------------  -------  -------  -------  -------  -------  ------  --------  ---------  --------  -------  -------");
            foreach (var (name, node) in scenarios)
            {
                if (node is not JsonObject s || s["cpu"] is not JsonObject cpu)
                {
                    continue;
                }

                var rate = s["deliveries_per_s"] ?? s["jobs_completed_per_s"];
                var latency = (s["decision_ms"] ?? s["latency_ms"]) as JsonObject;
                var label = name + (s.ContainsKey("decision_ms") ? " (decision)" : "");
                Console.WriteLine(
                    $"{Trim(label, 21),-21}  {Num(rate),7}  {Num(latency?["p50"]),7}  {Num(latency?["p90"]),7}  {Num(latency?["p99"]),7}  {Num(latency?["max"]),7}  " +
                    $"{Num(s["failed_or_not_applied"]),6}  {Num(cpu["host_ms_per_s"]),8}  {Num(cpu["generator_ms_per_s"]),9}  {Num(cpu["postgres_ms_per_s"]),8}  {Num(cpu["others_ms_per_s"]),7}  {Num(cpu["machine_busy_percent"]) + "%",7}");
            }

            foreach (var (name, node) in scenarios)
            {
                if (node?["cpu"] is JsonObject cpu && Goals.Number(cpu["others_ms_per_s"]) > 100 && cpu["busiest_other_processes"] is JsonArray others)
                {
                    Console.WriteLine($"  {name}: other processes were busy meanwhile: {string.Join(", ", others.Select(o => o?.GetValue<string>()))}");
                }
            }

            foreach (var (name, node) in scenarios)
            {
                if (node is JsonObject s && s["jit_ms_per_s_in_window"] is { } jit)
                {
                    var settled = s["jit_settled_before_window"] is { } flag ? (flag.GetValue<bool>() ? "JIT settled before the window" : "JIT NOT settled before the window") + "; " : "";
                    var saturated = s["saturated"] is { } sat && sat.GetValue<bool>() ? $"; SATURATED: {Num(s["jobs_completed_per_s"])} of {Num(s["target_jobs_per_s"])} jobs/s offered completed" : "";
                    Console.WriteLine($"  {name}: {settled}JIT {Num(jit)} ms/s, {Num(s["jit_methods_in_window"])} methods in the window{saturated}");
                }
            }

            if (results["host_build"] is JsonObject build)
            {
                Console.WriteLine($"  host build: {(build["ready_to_run"]?.GetValue<bool>() == true ? "ReadyToRun publish" : "JIT only (build output)")}");
            }

            Console.WriteLine("(rate: deliveries/s for ingest, jobs completed/s for decision runs, whose latencies are decision latencies;");
            Console.WriteLine($" machine capacity = {Environment.ProcessorCount * 1000} ms/s of CPU; 'other' = the rest of the machine, e.g. the kernel's loopback work)");
            if (scenarios["memory"] is JsonObject memory)
            {
                Console.WriteLine(
                    $"memory: {Num(memory["live_leases"])} live leases, {Num(memory["live_bytes_before"])} -> {Num(memory["live_bytes_after"])} live managed bytes, " +
                    $"{Num(memory["bytes_per_lease"])} B per lease; {Num(memory["allocated_bytes_per_lease_during_fill"])} B allocated per lease while filling");
            }
        }

        if (results["micro"] is JsonObject micro)
        {
            foreach (var key in new[] { "encryption_cpu_ratio_write", "encryption_cpu_ratio_read", "postgres_encryption_ratio_write", "postgres_encryption_ratio_read", "postgres_builtiful_storage_ratio_write", "postgres_builtiful_storage_ratio_read" })
            {
                if (micro[key] is { } ratio)
                {
                    Console.WriteLine($"{key}: {Num(ratio)}x");
                }
            }
        }

        if (results["errors"] is JsonObject { Count: > 0 } errors)
        {
            Console.WriteLine();
            foreach (var (name, message) in errors)
            {
                Console.WriteLine($"ERROR {name}: {message}");
            }
        }
    }

    private static void Row(JsonObject results, string key, string unit)
    {
        if (!results.ContainsKey(key))
        {
            return;
        }

        var goal = results["goals"]?[key] as JsonObject;
        var status = goal?["met"] is JsonValue met && met.TryGetValue<bool>(out var ok) ? (ok ? "met" : "SHORT") : "";
        Console.WriteLine($"{key,-27}  {Num(results[key]) + " " + unit,13}  {goal?["goal"]?.GetValue<string>() ?? "",-12}  {status}");
    }

    private static string Trim(string text, int width) => text.Length <= width ? text : text[..width];

    public static string Num(JsonNode? node)
    {
        if (node is not JsonValue value)
        {
            return "-";
        }

        if (value.TryGetValue<long>(out var l))
        {
            return l.ToString("N0", CultureInfo.InvariantCulture);
        }

        if (value.TryGetValue<int>(out var i))
        {
            return i.ToString("N0", CultureInfo.InvariantCulture);
        }

        if (value.TryGetValue<double>(out var d))
        {
            return Math.Abs(d) >= 1000 ? d.ToString("N0", CultureInfo.InvariantCulture)
                : Math.Abs(d) >= 100 ? d.ToString("0.#", CultureInfo.InvariantCulture)
                : d.ToString("0.###", CultureInfo.InvariantCulture);
        }

        return value.ToString();
    }
}

/// <summary>The micro-benchmark tables, printed after the figures.</summary>
public static class MicroTables
{
    private static readonly List<(string Title, MicroResult Result)> Tables = [];

    public static void Add(string title, MicroResult result) => Tables.Add((title, result));

    public static void Print()
    {
        foreach (var (title, result) in Tables)
        {
            Console.WriteLine();
            Console.WriteLine(title);
            Console.WriteLine($"  {"benchmark",-48}  {"params",-16}  {"mean",11}  {"ratio",6}  {"allocated",10}");
            foreach (var row in result.Rows)
            {
                var baseline = result.Rows.FirstOrDefault(r => r.Baseline && r.Category == row.Category && r.Parameters == row.Parameters);
                var ratio = baseline is null || baseline.MeanNs <= 0 ? "" : (row.MeanNs / baseline.MeanNs).ToString("0.00", CultureInfo.InvariantCulture);
                var allocated = row.AllocatedBytes is { } bytes ? bytes.ToString("N0", CultureInfo.InvariantCulture) + " B" : "-";
                Console.WriteLine($"  {row.Name,-48}  {row.Parameters,-16}  {MicroRow.Time(row.MeanNs),11}  {ratio,6}  {allocated,10}");
            }
        }
    }
}

/// <summary>JSON has no NaN or infinity: a figure that could not be measured is written as null.</summary>
public static class JsonCleaner
{
    public static void ReplaceNonFinite(JsonNode? node)
    {
        switch (node)
        {
            case JsonObject obj:
                foreach (var key in obj.Select(p => p.Key).ToList())
                {
                    if (IsNonFinite(obj[key]))
                    {
                        obj[key] = null;
                    }
                    else
                    {
                        ReplaceNonFinite(obj[key]);
                    }
                }

                break;
            case JsonArray array:
                for (var i = 0; i < array.Count; i++)
                {
                    if (IsNonFinite(array[i]))
                    {
                        array[i] = null;
                    }
                    else
                    {
                        ReplaceNonFinite(array[i]);
                    }
                }

                break;
        }
    }

    private static bool IsNonFinite(JsonNode? node) =>
        node is JsonValue value && value.TryGetValue<double>(out var d) && !double.IsFinite(d);
}
