using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using Builtiful.Bench.Ec2;
using Builtiful.Bench.Hosting;
using Builtiful.Bench.Load;
using Builtiful.Bench.Micro;
using Builtiful.Bench.Reporting;
using Builtiful.Postgres;
using Builtiful.Testing;

namespace Builtiful.Bench;

/// <summary>The bench run: scenarios and micro-benchmarks in order, results written to JSON and printed as tables.</summary>
internal static class BenchRun
{
    public static async Task<int> RunAsync(BenchOptions options)
    {

        // --quick has 3 minutes on 2 cores, build included. By default the runtime waits for 100 ms without new tier-0
        // methods before it starts counting calls towards tier 1, and under full load from a cold start new methods keep
        // coming, so the host's JIT needs 20-40 s to settle; with the delay at 0 it settles within --quick's warm-up (JIT
        // 39 ms/s in the window against 426 ms/s, measured back to back). The tier-1 code is the same (dynamic PGO stays on,
        // as in production). An explicit setting given to the bench wins; host_build.jit_settings names what the host ran with.
        if (options.Quick && Environment.GetEnvironmentVariable("DOTNET_TC_CallCountingDelayMs") is null)
        {
            Environment.SetEnvironmentVariable("DOTNET_TC_CallCountingDelayMs", "0");
        }

        var total = Stopwatch.StartNew();
        var deliveries = new Deliveries(BuiltifulInstance.WebhookSecret);
        var hostBuild = HostBuild.Jit;
        var scenarios = new Scenarios(options, deliveries, hostBuild);
        var results = new JsonObject
        {
            ["mode"] = options.Quick ? "quick" : "full",
            ["started_at"] = DateTimeOffset.UtcNow.ToString("O", CultureInfo.InvariantCulture),
            ["machine"] = MachineInfo.Describe(),
            ["source"] = MachineInfo.Source(),
            ["method"] = new JsonObject
            {
                ["processes"] = "The host (the real all-in-one: Kestrel gateway, Orleans silo, Job/Organisation/VmLease grains, configured storage and reminders) runs in a child process with the server GC; the load generator runs in the bench process. Both share the same cores; each one's CPU is measured separately.",
                ["world"] = "Cloud and GitHub are zero-latency stubs in the host (no simulated VMs, runners or runner registry): the load generator plays GitHub, posting in_progress and completed with each launched lease's runner name.",
                ["payloads"] = "Real workflow_job payloads from tests/Fixtures (queued.5, in_progress.0, completed.1) with id, installation, label and runner_name set, HMAC-SHA256-signed per delivery, sent over loopback HTTP/1.1 keep-alive connections (SocketsHttpHandler).",
                ["ingest"] = "Closed loop at the host's limit; every job goes queued -> launch -> in_progress -> completed (VM terminated), so the delivery mix is GitHub's 1:1:1 and live leases stay bounded. Latency is client-side, send to full answer.",
                ["decision"] = "Open loop: new jobs' queued deliveries at a fixed rate; each launched job reports in_progress at once and completed after the job run time. Decision = host clock from the first middleware seeing the queued request to IComputeProvider.LaunchAsync.",
                ["cpu_ms_per_job"] = "Host process CPU during the steady window of the decision run divided by the jobs completed (and VMs terminated) in it; includes the host's background work.",
                ["bytes_per_lease"] = "GC.GetTotalMemory after two full compacting collections in the host, before and after queuing N more jobs whose leases stay live (boot deadline 2 h, no runner), divided by N.",
                ["micro"] = "BenchmarkDotNet, in-process emit toolchain, MemoryDiagnoser; --quick uses ShortRun with 2 warm-ups and 3 iterations of 60 ms (PostgreSQL: 4 of 80 ms), without overhead evaluation.",
            },
            ["options"] = new JsonObject
            {
                ["connections"] = options.Connections,
                ["installations"] = options.Installations,
                ["live_jobs_cap"] = options.LiveJobs,
                ["decision_rate_jobs_per_s"] = options.DecisionRate,
                ["job_run_time_ms"] = options.JobRunTime.TotalMilliseconds,
                ["leases_for_memory"] = options.Leases,
            },
        };
        var details = new JsonObject();
        var micro = new JsonObject();
        var errors = new JsonObject();
        results["scenarios"] = details;
        results["micro"] = micro;
        results["errors"] = errors;

        Console.WriteLine($"Builtiful bench ({(options.Quick ? "quick" : "full")}) on {MachineInfo.OneLine()}");
        Console.WriteLine("The load generator (this process) and the host (a child process) share these cores; both CPUs are reported.");
        Console.WriteLine();

        async Task Step(string name, string title, Func<Task> run)
        {
            if (name is not ("host" or "postgres") && !options.Runs(name.Split('.')[0]))
            {
                return;
            }

            Console.Write($"  {title,-52}");
            var clock = Stopwatch.StartNew();
            try
            {
                await run();
                Console.WriteLine($"done in {Scenarios.Seconds(clock)}");
            }
            catch (Exception ex)
            {
                Console.WriteLine($"FAILED after {Scenarios.Seconds(clock)}: {ex.GetType().Name}: {ex.Message}");
                errors[name] = $"{ex.GetType().Name}: {ex.Message}";
            }
        }

        // Only what is not measured by CPU or time runs alongside other work: PostgreSQL's start runs alongside the in-memory
        // host's, and the PostgreSQL host warms up its JIT under load (unmeasured) while the EC2 scenario runs, whose figures
        // are call counts and a launch rate set by its token bucket. The micro-benchmarks run last, with nothing else running.
        var postgres = options.Runs("pg") || options.Runs("pgstorage") ? new PostgresServer() : null;
        try
        {
            var wantHost = options.Runs("ingest") || options.Runs("lifecycle") || options.Runs("memory") || options.Runs("burst") || options.Runs("floor") || options.Runs("starts") || options.Runs("pg");
            if (options.HostReadyToRun && wantHost)
            {
                Console.Write($"  {"host: ReadyToRun publish (redone when changed)",-52}");
                var publishClock = Stopwatch.StartNew();
                hostBuild = await HostBuild.PublishReadyToRunAsync(TimeSpan.FromMinutes(4));
                Console.WriteLine(hostBuild.Failure is null
                    ? $"{(hostBuild.FromCache == true ? "reused" : "done")} in {Scenarios.Seconds(publishClock)}"
                    : $"FAILED after {Scenarios.Seconds(publishClock)}, the host runs JIT only: {hostBuild.Failure}");
                scenarios = new Scenarios(options, deliveries, hostBuild);
            }

            results["host_build"] = hostBuild.ToJson();
            var postgresStarting = postgres?.InitializeAsync();
            var postgresUp = false;
            async Task AwaitPostgres()
            {
                if (postgresStarting is not null && !postgresUp && !errors.ContainsKey("postgres"))
                {
                    await Step("postgres", "PostgreSQL: initdb and start (begun earlier)", async () => await postgresStarting);
                    postgresUp = !errors.ContainsKey("postgres");
                }
            }

            async Task<string> Database(string name)
            {
                var cs = await postgres!.CreateDatabaseAsync(name);
                await new SchemaMigrator().MigrateAsync(cs, CancellationToken.None);
                return cs;
            }

            HostSession? pgSession = null;
            Task<TimeSpan>? pgWarming = null;
            using var stopPgWarming = new CancellationTokenSource();
            async Task StartPostgresHost()
            {
                await AwaitPostgres();
                if (!postgresUp || !options.Runs("pg") || pgSession is not null || errors.ContainsKey("pg.host"))
                {
                    return;
                }

                await Step("pg.host", "PostgreSQL: start the host, install the app", async () => pgSession = await scenarios.StartAsync(await Database("bench_load")));
                if (pgSession is not null)
                {
                    pgWarming = scenarios.WarmAsync(pgSession, stopPgWarming.Token);
                }
            }

            try
            {
                if (options.Runs("ingest") || options.Runs("lifecycle") || options.Runs("memory") || options.Runs("floor") || options.Runs("burst"))
                {
                    HostSession? session = null;
                    await Step("host", "in memory: start the host, install the app", async () => session = await scenarios.StartAsync(null));
                    if (session is not null)
                    {
                        await using (session)
                        {
                            await Step("ingest", "ingest, in memory (max rate, full lifecycles)", async () =>
                            {
                                var ingest = await scenarios.IngestAsync(session);
                                details["ingest"] = ingest;
                                results["ingest_per_s"] = ingest["deliveries_per_s"]?.DeepClone();
                                results["ingest_p50_ms"] = ingest["latency_ms"]!["p50"]?.DeepClone();
                                results["ingest_p99_ms"] = ingest["latency_ms"]!["p99"]?.DeepClone();
                                results["cpu_ms_per_job_at_max_rate"] = ingest["host_cpu_ms_per_job"]?.DeepClone();
                                results["ingest_cpu_us_per_delivery"] = ingest["host_cpu_us_per_delivery"]?.DeepClone();
                            });

                            await Step("lifecycle", $"decision + CPU, in memory ({options.DecisionRate:0} jobs/s)", async () =>
                            {
                                var lifecycle = await scenarios.LifecycleAsync(session);
                                details["lifecycle"] = lifecycle;
                                results["decision_p50_ms"] = lifecycle["decision_ms"]!["p50"]?.DeepClone();
                                results["decision_p99_ms"] = lifecycle["decision_ms"]!["p99"]?.DeepClone();
                                results["cpu_ms_per_job"] = lifecycle["cpu_ms_per_job"]?.DeepClone();
                                results["lifecycle_cpu_us_per_delivery"] = lifecycle["host_cpu_us_per_delivery"]?.DeepClone();
                            });

                            await Step("floor", "HTTP floor: read body + check signature, in memory", async () =>
                            {
                                var floor = await scenarios.FloorAsync(session);
                                details["floor"] = floor;
                                results["floor_ingest_per_s"] = floor["deliveries_per_s"]?.DeepClone();
                                results["floor_p99_ms"] = floor["latency_ms"]!["p99"]?.DeepClone();
                                results["floor_cpu_us_per_delivery"] = floor["host_cpu_us_per_delivery"]?.DeepClone();
                            });

                            await Step("burst.jobs", "burst: 2,000 queued jobs into one installation, then their runs", async () =>
                            {
                                var burst = await BurstScenario.JobsAsync(session, deliveries, options.Connections, 2_000, 500);
                                details["burst_jobs"] = burst;
                                results["burst_deliveries_per_s"] = burst["deliveries_per_s"]?.DeepClone();
                                results["burst_cpu_us_per_delivery"] = burst["host_cpu_us_per_delivery"]?.DeepClone();
                            });

                            await Step("memory", $"memory, {options.Leases:N0} more live leases", async () =>
                            {
                                var memory = await scenarios.MemoryAsync(session);
                                details["memory"] = memory;
                                results["bytes_per_lease"] = memory["bytes_per_lease"]?.DeepClone();
                            });
                        }
                    }
                }

                foreach (var leases in new[] { 20, 2_000 })
                {
                    await Step("burst", $"burst: queued deliveries into one installation with {leases:N0} live leases", async () =>
                    {
                        var burst = await BurstScenario.RunAsync(hostBuild, deliveries, options.Connections, leases, options.Quick ? 2_000 : 10_000);
                        details[$"burst_{leases}"] = burst;
                        results[$"burst_cpu_us_per_queued_delivery_{leases}"] = burst["host_cpu_us_per_queued_delivery"]?.DeepClone();
                    });
                }

                // Alone: the hosts are nearly idle (a job a second), but their answers are part of each job's start.
                await Step("starts", "starts: queue-to-start, cold and with a pool (realistic boots)", async () =>
                {
                    details["starts"] = await StartsScenario.RunAsync(hostBuild, options.Quick, results);
                });

                // The PostgreSQL host warms up under load while EC2 runs (its figures are counts and a bucket's rate).
                await StartPostgresHost();
                if (options.Runs("ec2") && MotoServer.Executable is null)
                {
                    Console.WriteLine($"  {"EC2 on moto_server",-52}skipped: moto_server is not on PATH (pip install 'moto[server]==5.2.1')");
                    results["ec2_skipped"] = "moto_server is not on PATH";
                }
                else
                {
                    await Step("ec2", $"EC2 on moto_server: calls per job, {(options.Quick ? 8 : 40)} launches{(pgWarming is null ? "" : " (PostgreSQL warming)")}", async () =>
                    {
                        var ec2 = (await Ec2Scenario.RunAsync(options.Quick))!;
                        ec2["ran_alongside"] = pgWarming is null ? null : "the PostgreSQL host's JIT warm-up under full load (unmeasured)";
                        results["ec2"] = ec2;
                        Ec2Scenario.Headline(ec2, results);
                    });

                    await Step("ec2.cluster", "EC2 on moto_server: 3 silos, 40 launches, one account and region", async () =>
                    {
                        var cluster = (await Ec2ClusterScenario.RunAsync(40))!;
                        results["ec2_cluster"] = cluster;
                        results["ec2_cluster_launches_per_s"] = cluster["launches_per_s"]?.DeepClone();
                    });
                }

                if (pgSession is not null)
                {
                    await stopPgWarming.CancelAsync();
                    var warmedFor = pgWarming is null ? 0 : await pgWarming.ContinueWith(t => t.IsCompletedSuccessfully ? t.Result.TotalSeconds : 0, TaskScheduler.Default);
                    await using (pgSession)
                    {
                        await Step("pg.ingest", "ingest, PostgreSQL (max rate, full lifecycles)", async () =>
                        {
                            var ingest = await scenarios.IngestAsync(pgSession);
                            ingest["warmup_in_background_s"] = Scenarios.R(warmedFor, 1);
                            details["pg_ingest"] = ingest;
                            results["pg_ingest_per_s"] = ingest["deliveries_per_s"]?.DeepClone();
                            results["pg_ingest_p50_ms"] = ingest["latency_ms"]!["p50"]?.DeepClone();
                            results["pg_ingest_p99_ms"] = ingest["latency_ms"]!["p99"]?.DeepClone();
                            results["pg_ingest_cpu_us_per_delivery"] = ingest["host_cpu_us_per_delivery"]?.DeepClone();
                        });

                        await Step("pg.lifecycle", $"decision + CPU, PostgreSQL (at most {options.DecisionRate:0} jobs/s)", async () =>
                        {
                            var lifecycle = await scenarios.LifecycleAsync(pgSession);
                            details["pg_lifecycle"] = lifecycle;
                            results["pg_decision_p50_ms"] = lifecycle["decision_ms"]!["p50"]?.DeepClone();
                            results["pg_decision_p99_ms"] = lifecycle["decision_ms"]!["p99"]?.DeepClone();
                            results["pg_decision_rate_jobs_per_s"] = lifecycle["target_jobs_per_s"]?.DeepClone();
                            results["pg_cpu_ms_per_job"] = lifecycle["cpu_ms_per_job"]?.DeepClone();
                            results["pg_postgres_cpu_ms_per_job"] = lifecycle["postgres_cpu_ms_per_job"]?.DeepClone();
                            results["pg_lifecycle_cpu_us_per_delivery"] = lifecycle["host_cpu_us_per_delivery"]?.DeepClone();
                        });

                        await Step("pg.burst", "burst on PostgreSQL: 2,000 queued jobs into one installation, then their runs", async () =>
                        {
                            var burst = await BurstScenario.JobsAsync(pgSession, deliveries, options.Connections, 2_000, 500);
                            details["pg_burst_jobs"] = burst;
                            results["pg_burst_deliveries_per_s"] = burst["deliveries_per_s"]?.DeepClone();
                            results["pg_burst_cpu_us_per_delivery"] = burst["host_cpu_us_per_delivery"]?.DeepClone();
                            results["pg_burst_postgres_cpu_us_per_delivery"] = burst["postgres_cpu_us_per_delivery"]?.DeepClone();
                            results["pg_writes_per_job"] = burst["storage_writes_per_job"]?.DeepClone();
                        });
                    }
                }
            }
            finally
            {
                await stopPgWarming.CancelAsync();
            }

            await Step("micro.webhook", "micro: signature + parse per delivery", () =>
            {
                // --quick measures the gateway's whole path per delivery only; the full run adds its two halves and the Octokit
                // path it replaced, as the baseline.
                var webhook = MicroRunner.Run<WebhookDeliveryBenchmarks>(options.Quick, quickMethods: WebhookDeliveryBenchmarks.IsGatewayDelivery);
                micro["webhook_delivery"] = new JsonArray([.. webhook.Rows.Select(r => (JsonNode)r.ToJson())]);
                MicroTables.Add("Signature check + payload parse, per delivery", webhook);
                return webhook.Failure is null ? Task.CompletedTask : throw new InvalidOperationException(webhook.Failure);
            });

            await Step("micro.cipher", "micro: grain-state encryption (CPU)", () =>
            {
                var cipher = MicroRunner.Run<GrainStateCipherBenchmarks>(options.Quick, quickMethods: GrainStateCipherBenchmarks.IsRatioCase);
                micro["grain_state_cipher"] = new JsonArray([.. cipher.Rows.Select(r => (JsonNode)r.ToJson())]);
                micro["encryption_cpu_ratio_write"] = cipher.Ratio("write: serialize + seal + wrap (encrypted)", "write: serialize (plain)");
                micro["encryption_cpu_ratio_read"] = cipher.Ratio("read: unwrap + open + deserialize (encrypted)", "read: deserialize (plain)");
                MicroTables.Add("Grain-state encryption, one job record, CPU only", cipher);
                return cipher.Failure is null ? Task.CompletedTask : throw new InvalidOperationException(cipher.Failure);
            });

            await AwaitPostgres();
            if (postgresUp && options.Runs("pgstorage"))
            {
                await Step("pgstorage", "micro: grain-state write/read on PostgreSQL", async () =>
                {
                    PostgresGrainStorageBenchmarks.ConnectionString = await Database("bench_storage");

                    MicroResult storage;
                    try
                    {
                        storage = MicroRunner.Run<PostgresGrainStorageBenchmarks>(options.Quick, quickIterations: 4, quickIterationMs: 80);
                    }
                    finally
                    {
                        await PostgresGrainStorageBenchmarks.StopHostAsync();
                    }

                    micro["postgres_grain_storage"] = new JsonArray([.. storage.Rows.Select(r => (JsonNode)r.ToJson())]);
                    micro["postgres_encryption_ratio_write"] = storage.Ratio("PostgreSQL write (Orleans sealed)", "PostgreSQL write (Orleans plain)");
                    micro["postgres_encryption_ratio_read"] = storage.Ratio("PostgreSQL read (Orleans sealed)", "PostgreSQL read (Orleans plain)");
                    micro["postgres_builtiful_storage_ratio_write"] = storage.Ratio("PostgreSQL write (Builtiful)", "PostgreSQL write (Orleans sealed)");
                    micro["postgres_builtiful_storage_ratio_read"] = storage.Ratio("PostgreSQL read (Builtiful)", "PostgreSQL read (Orleans sealed)");
                    MicroTables.Add("Grain-state write/read on PostgreSQL: Orleans' provider plain and sealed, Builtiful's sealed", storage);
                    if (storage.Failure is not null)
                    {
                        throw new InvalidOperationException(storage.Failure);
                    }
                });
            }
        }
        finally
        {
            if (postgres is not null)
            {
                await postgres.DisposeAsync();
            }

            results["generator_cpu_ms_per_s"] = details["ingest"]?["cpu"]?["generator_ms_per_s"]?.DeepClone();
            results["goals"] = Goals.Evaluate(results);
            results["run_seconds"] = Math.Round(total.Elapsed.TotalSeconds, 1);
            var path = ResultsPath(options);
            Directory.CreateDirectory(Path.GetDirectoryName(path)!);
            JsonCleaner.ReplaceNonFinite(results);
            await File.WriteAllTextAsync(path, results.ToJsonString(new JsonSerializerOptions { WriteIndented = true }) + "\n");
            Console.WriteLine();
            Report.Print(results);
            MicroTables.Print();
            Console.WriteLine();
            Console.WriteLine($"Wrote {Path.GetRelativePath(Environment.CurrentDirectory, path)} in {Scenarios.Seconds(total)}.");
        }

        return errors.Count == 0 ? 0 : 1;

        static string ResultsPath(BenchOptions options)
        {
            if (options.Output is { } output)
            {
                return Path.GetFullPath(output);
            }

            // bench/Builtiful.Bench/bin/<configuration>/<tfm>/ → bench/results/latest.json, wherever the command runs from.
            for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
            {
                if (File.Exists(Path.Combine(directory.FullName, "Builtiful.Bench.csproj")))
                {
                    return Path.Combine(directory.Parent!.FullName, "results", "latest.json");
                }
            }

            return Path.GetFullPath(Path.Combine("bench", "results", "latest.json"));
        }
    }
}
