using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using System.Text;
using Builtiful.Silo.Storage;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Npgsql;

namespace Builtiful.Silo.Tests;

/// <summary>
/// The grain storage's statement batcher on a real PostgreSQL server, judged by what the server did: which transaction
/// ran each statement (<c>txid_current()</c>), which backend, and which rows it kept. The server restarts in one test,
/// so the class has a server of its own.
/// </summary>
public sealed class PostgresStatementBatcherTests(PostgresServer postgres) : IClassFixture<PostgresServer>
{
    private const long LaneLock = 4_242_001;

    [Fact]
    public async Task Statements_that_wait_together_go_in_one_transaction_and_each_caller_gets_its_own_answer()
    {
        var database = await postgres.CreateDatabaseAsync("batch_together");
        using var meter = new StorageMeter();
        await using var batcher = Batcher(database, connections: 1, meter.Factory);
        await using var holder = await HoldLaneAsync(database, batcher);

        // Thirty statements arrive while the only lane waits on the lock: its next batch holds them all.
        var answers = Enumerable.Range(0, 30).Select(i => batcher.RunAsync(Tagged($"caller-{i}"))).ToList();
        Assert.Equal([30], meter.Observe("builtiful.storage.statements_waiting"));
        await holder.ReleaseAsync();
        var rows = await Task.WhenAll(answers);
        Assert.Equal([1, 30], meter.Values("builtiful.storage.batch_statements"));

        Assert.Equal(Enumerable.Range(0, 30).Select(i => $"caller-{i}"), rows.Select(r => Encoding.UTF8.GetString(r.Payload!)));
        Assert.Single(rows.Select(r => r.Version).Distinct()); // one transaction on the server, for the thirty
        Assert.NotEqual(holder.Transaction, rows[0].Version);
    }

    [Fact]
    public async Task A_failing_statement_fails_alone_and_the_rest_of_its_batch_is_answered_and_kept()
    {
        var database = await postgres.CreateDatabaseAsync("batch_failure");
        await ExecuteAsync(database, "CREATE TABLE probe (id integer PRIMARY KEY)");
        using var meter = new StorageMeter();
        await using var batcher = Batcher(database, connections: 1, meter.Factory);
        await using var holder = await HoldLaneAsync(database, batcher);

        var inserts = Enumerable.Range(1, 10).Select(i => batcher.RunAsync(Insert(i))).ToList();
        var failing = batcher.RunAsync(new NpgsqlBatchCommand("SELECT 1 / 0"));
        var later = Enumerable.Range(11, 10).Select(i => batcher.RunAsync(Insert(i))).ToList();
        await holder.ReleaseAsync();

        var refused = await Assert.ThrowsAsync<PostgresException>(() => failing);
        Assert.Equal(PostgresErrorCodes.DivisionByZero, refused.SqlState);
        Assert.Equal(Enumerable.Range(1, 20), (await Task.WhenAll(inserts.Concat(later))).Select(r => r.Version!.Value));
        Assert.Equal(20L, await ScalarAsync<long>(database, "SELECT count(*) FROM probe"));

        // A row already there fails that statement only, with the server's own reason.
        var duplicate = await Assert.ThrowsAsync<PostgresException>(() => batcher.RunAsync(Insert(3)));
        Assert.Equal(PostgresErrorCodes.UniqueViolation, duplicate.SqlState);
        Assert.Equal(21, (await batcher.RunAsync(Insert(21))).Version);
        Assert.Contains(21, meter.Values("builtiful.storage.batch_statements"));
        Assert.Equal(["refused", "refused"], meter.Kinds("builtiful.storage.failed_batches"));
    }

    /// <summary>
    /// Two silos' batches lock the same two rows in opposite orders (as duplicate activations of two grains on two silos
    /// could): the server aborts one as a deadlock, and its statements are sent again alone, so every statement is
    /// answered and every update is on the server once. Advisory locks the test holds order the four updates.
    /// </summary>
    [Fact]
    public async Task A_batch_aborted_as_a_deadlock_is_sent_again_statement_by_statement()
    {
        var database = await postgres.CreateDatabaseAsync("batch_deadlock");
        await ExecuteAsync(database, "CREATE TABLE probe (id integer PRIMARY KEY, v integer NOT NULL); INSERT INTO probe VALUES (1, 0), (2, 0)");
        using var meterA = new StorageMeter();
        using var meterB = new StorageMeter();
        await using var siloA = Batcher(database, connections: 1, meterA.Factory);
        await using var siloB = Batcher(database, connections: 1, meterB.Factory);
        await using var locks = await TestLocks.TakeAsync(database, Lanes, First, Second);

        // Both lanes wait on the test's lock, so that each silo's next batch holds its statements together.
        var holders = new[] { siloA.RunAsync(WaitFor(Lanes)), siloB.RunAsync(WaitFor(Lanes)) };
        await locks.UntilWaitingAsync("advisory", 2, "both lanes wait");
        var a = new[] { siloA.RunAsync(Bump(1)), siloA.RunAsync(WaitFor(First)), siloA.RunAsync(Bump(2)) };
        var b = new[] { siloB.RunAsync(Bump(2)), siloB.RunAsync(WaitFor(Second)), siloB.RunAsync(Bump(1)) };
        await locks.ReleaseAsync(Lanes);
        await Task.WhenAll(holders);

        // A holds row 1 and waits; B holds row 2 and waits; then B asks for row 1 (A's), then A for row 2 (B's).
        await locks.UntilWaitingAsync("advisory", 2, "each silo holds one row and waits for the test");
        await locks.ReleaseAsync(Second);
        await locks.UntilWaitingAsync("transactionid", 1, "silo B waits for silo A's row");
        await locks.ReleaseAsync(First);

        var answered = await Task.WhenAll(a.Concat(b)).WaitAsync(TimeSpan.FromSeconds(60));
        Assert.All(answered, row => Assert.NotNull(row.Version));
        Assert.Equal(2L, await ScalarAsync<long>(database, "SELECT sum(v) FILTER (WHERE id = 1) FROM probe"));
        Assert.Equal(2L, await ScalarAsync<long>(database, "SELECT sum(v) FILTER (WHERE id = 2) FROM probe"));
        Assert.Equal(["refused"], meterA.Kinds("builtiful.storage.failed_batches").Concat(meterB.Kinds("builtiful.storage.failed_batches")));
    }

    private const long Lanes = 4_242_101;
    private const long First = 4_242_102;
    private const long Second = 4_242_103;

    private static NpgsqlBatchCommand WaitFor(long advisoryLock) => new($"SELECT 1 FROM pg_advisory_xact_lock({advisoryLock})");

    private static NpgsqlBatchCommand Bump(int id) => new("UPDATE probe SET v = v + 1 WHERE id = $1 RETURNING v")
    {
        Parameters = { new NpgsqlParameter<int> { TypedValue = id } },
    };

    /// <summary>Advisory locks a connection of the test's own holds, and what the server says is waiting (<c>pg_locks</c>).</summary>
    private sealed class TestLocks(string database, NpgsqlConnection connection) : IAsyncDisposable
    {
        public static async Task<TestLocks> TakeAsync(string database, params long[] locks)
        {
            var connection = new NpgsqlConnection(database);
            await connection.OpenAsync();
            foreach (var advisoryLock in locks)
            {
                await using var take = new NpgsqlCommand($"SELECT pg_advisory_lock({advisoryLock})", connection);
                await take.ExecuteNonQueryAsync();
            }

            return new TestLocks(database, connection);
        }

        public async Task ReleaseAsync(long advisoryLock)
        {
            await using var release = new NpgsqlCommand($"SELECT pg_advisory_unlock({advisoryLock})", connection);
            Assert.Equal(true, await release.ExecuteScalarAsync());
        }

        /// <summary>Until the server has this many sessions waiting for a lock of this type (advisory, or transactionid: a row another transaction holds).</summary>
        public Task<long> UntilWaitingAsync(string lockType, long waiting, string what) => Eventually.Until(
            () => ScalarAsync<long>(database, $"SELECT count(*) FROM pg_locks WHERE locktype = '{lockType}' AND NOT granted"), n => n == waiting, what);

        public ValueTask DisposeAsync() => connection.DisposeAsync();
    }

    [Fact]
    public async Task A_busy_silo_uses_no_more_server_connections_than_its_lanes()
    {
        var database = await postgres.CreateDatabaseAsync("batch_lanes");
        await using var batcher = Batcher(database, connections: 2);

        var rows = await Task.WhenAll(Enumerable.Range(0, 400).Select(_ => batcher.RunAsync(new NpgsqlBatchCommand("SELECT pg_backend_pid()"))));

        Assert.InRange(rows.Select(r => r.Version).Distinct().Count(), 1, 2);
    }

    [Fact]
    public async Task A_statement_with_no_row_answers_none_and_a_stopped_batcher_refuses_new_statements()
    {
        var database = await postgres.CreateDatabaseAsync("batch_stop");
        var batcher = Batcher(database, connections: 2);
        Assert.Equal(StoredRow.None, await batcher.RunAsync(new NpgsqlBatchCommand("SELECT 1 WHERE false")));

        // Statements taken before the stop are answered; after it, a caller hears why it is refused.
        var taken = Enumerable.Range(0, 50).Select(_ => batcher.RunAsync(new NpgsqlBatchCommand("SELECT 7"))).ToList();
        await batcher.DisposeAsync();
        Assert.All(await Task.WhenAll(taken), r => Assert.Equal(7, r.Version));
        var refused = await Assert.ThrowsAsync<ObjectDisposedException>(() => batcher.RunAsync(new NpgsqlBatchCommand("SELECT 7")));
        Assert.Contains("shutting down", refused.Message, StringComparison.Ordinal);
    }

    /// <summary>
    /// A PostgreSQL restart breaks every lane's connection at once, under load: the callers of the batches in flight
    /// hear of it, and the next batches open new connections. (Npgsql's multiplexed pool, bounded this low, never
    /// answered again: see PostgresDataSourceTests.)
    /// </summary>
    [Fact]
    public async Task The_batcher_serves_again_after_the_server_restarts_under_load()
    {
        var database = await postgres.CreateDatabaseAsync("batch_restart");
        using var meter = new StorageMeter();
        await using var batcher = Batcher(database + ";Timeout=5;Command Timeout=10", connections: 2, meter.Factory);
        using var stop = new CancellationTokenSource();
        var failures = 0;
        var callers = Enumerable.Range(0, 40).Select(async _ =>
        {
            while (!stop.IsCancellationRequested)
            {
                try
                {
                    await batcher.RunAsync(new NpgsqlBatchCommand("SELECT 1 FROM pg_sleep(0.01)"));
                }
                catch (Exception e) when (e is NpgsqlException or InvalidOperationException or TimeoutException)
                {
                    Interlocked.Increment(ref failures);
                }
            }
        }).ToList();

        for (var restart = 0; restart < 2; restart++)
        {
            Assert.Equal(1, (await batcher.RunAsync(new NpgsqlBatchCommand("SELECT 1"))).Version);
            await postgres.RestartAsync();

            using (var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(60)))
            {
                await ServesAgainAsync(batcher, deadline.Token).WaitAsync(deadline.Token);
            }

            for (var i = 0; i < 20; i++)
            {
                Assert.Equal(1, (await batcher.RunAsync(new NpgsqlBatchCommand("SELECT 1")).WaitAsync(TimeSpan.FromSeconds(30))).Version);
            }
        }

        await stop.CancelAsync();
        await Task.WhenAll(callers).WaitAsync(TimeSpan.FromSeconds(30));
        Assert.True(failures > 0, "the restarts broke no statement: they did not happen under load");
        Assert.Contains("broken", meter.Kinds("builtiful.storage.failed_batches"));
    }

    [Theory]
    [InlineData(null, -1)]
    [InlineData(" ", -1)]
    [InlineData("1", 1)]
    [InlineData(" 16 ", 16)]
    [InlineData("64", 64)]
    public void A_silo_batches_onto_the_configured_connections_or_one_per_core_and_at_least_two(string? given, int expected)
    {
        var configuration = new ConfigurationBuilder()
            .AddInMemoryCollection(new Dictionary<string, string?> { [BuiltifulServices.StorageConnectionsKey] = given })
            .Build();

        Assert.Equal(expected > 0 ? expected : Math.Max(2, Environment.ProcessorCount), BuiltifulServices.StorageConnections(configuration));
    }

    [Theory]
    [InlineData("0")]
    [InlineData("65")]
    [InlineData("-2")]
    [InlineData("two")]
    [InlineData("2.5")]
    public void A_connection_count_that_is_not_one_refuses_to_start_and_says_what_it_takes(string given)
    {
        var configuration = new ConfigurationBuilder()
            .AddInMemoryCollection(new Dictionary<string, string?> { [BuiltifulServices.StorageConnectionsKey] = given })
            .Build();

        var refused = Assert.Throws<OptionsValidationException>(() => BuiltifulServices.StorageConnections(configuration));

        Assert.Contains($"Storage:Connections '{given}' is not a number of server connections: give a whole number from 1 to 64", refused.Message, StringComparison.Ordinal);
    }

    private static PostgresStatementBatcher Batcher(string connectionString, int connections, IMeterFactory? meters = null) =>
        new(connectionString, connections, NullLogger<PostgresStatementBatcher>.Instance, meters);

    /// <summary>The instruments of one batcher's meter (its own meter factory), as an exporter would read them.</summary>
    private sealed class StorageMeter : IDisposable
    {
        private readonly ServiceProvider _services = new ServiceCollection().AddMetrics().BuildServiceProvider();
        private readonly MeterListener _listener = new();
        private readonly ConcurrentQueue<(string Instrument, long Value, string? Kind)> _measured = new();

        public StorageMeter()
        {
            Factory = _services.GetRequiredService<IMeterFactory>();
            _listener.InstrumentPublished = (instrument, listener) =>
            {
                if (ReferenceEquals(instrument.Meter.Scope, Factory) && instrument.Meter.Name == PostgresStatementBatcher.MeterName)
                {
                    listener.EnableMeasurementEvents(instrument);
                }
            };
            _listener.SetMeasurementEventCallback<int>((instrument, value, tags, _) => Record(instrument, value, tags));
            _listener.SetMeasurementEventCallback<long>((instrument, value, tags, _) => Record(instrument, value, tags));
            _listener.Start();
        }

        public IMeterFactory Factory { get; }

        public IReadOnlyList<long> Values(string instrument) => [.. _measured.Where(m => m.Instrument == instrument).Select(m => m.Value)];

        public IReadOnlyList<string?> Kinds(string instrument) => [.. _measured.Where(m => m.Instrument == instrument).Select(m => m.Kind)];

        /// <summary>Reads the observable instruments now, as a scrape does.</summary>
        public IReadOnlyList<long> Observe(string instrument)
        {
            var before = _measured.Count(m => m.Instrument == instrument);
            _listener.RecordObservableInstruments();
            return [.. Values(instrument).Skip(before)];
        }

        private void Record(Instrument instrument, long value, ReadOnlySpan<KeyValuePair<string, object?>> tags)
        {
            string? kind = null;
            foreach (var tag in tags)
            {
                if (tag.Key == "kind")
                {
                    kind = tag.Value as string;
                }
            }

            _measured.Enqueue((instrument.Name, value, kind));
        }

        public void Dispose()
        {
            _listener.Dispose();
            _services.Dispose();
        }
    }

    /// <summary>A statement answering (the caller's tag, the server transaction that ran it).</summary>
    private static NpgsqlBatchCommand Tagged(string tag) => new("SELECT convert_to($1, 'UTF8'), txid_current()::integer")
    {
        Parameters = { new NpgsqlParameter<string> { TypedValue = tag } },
    };

    private static NpgsqlBatchCommand Insert(int id) => new("INSERT INTO probe (id) VALUES ($1) RETURNING id")
    {
        Parameters = { new NpgsqlParameter<int> { TypedValue = id } },
    };

    /// <summary>
    /// Takes an advisory lock on a connection of the test's own, then has the batcher's lane wait for it, so that every
    /// statement sent before <see cref="LaneHolder.ReleaseAsync"/> waits for the lane's next batch. The server says when
    /// the lane waits (<c>pg_locks</c>).
    /// </summary>
    private static async Task<LaneHolder> HoldLaneAsync(string database, PostgresStatementBatcher batcher)
    {
        var locks = await TestLocks.TakeAsync(database, LaneLock);
        var held = batcher.RunAsync(new NpgsqlBatchCommand($"SELECT txid_current()::integer FROM pg_advisory_xact_lock({LaneLock})"));
        await locks.UntilWaitingAsync("advisory", 1, "the batcher's lane waits for the test's advisory lock");
        return new LaneHolder(locks, held);
    }

    private sealed class LaneHolder(TestLocks locks, Task<StoredRow> held) : IAsyncDisposable
    {
        public int? Transaction { get; private set; }

        public async Task ReleaseAsync()
        {
            await locks.ReleaseAsync(LaneLock);
            Transaction = (await held).Version;
        }

        public ValueTask DisposeAsync() => locks.DisposeAsync();
    }

    private static async Task ServesAgainAsync(PostgresStatementBatcher batcher, CancellationToken deadline)
    {
        while (!deadline.IsCancellationRequested)
        {
            try
            {
                if ((await batcher.RunAsync(new NpgsqlBatchCommand("SELECT 1"))).Version == 1)
                {
                    return;
                }
            }
            catch (Exception e) when (e is NpgsqlException or InvalidOperationException)
            {
                // A batch the restart broke: the batcher is asked again.
            }
        }
    }

    private static async Task ExecuteAsync(string database, string sql)
    {
        await using var connection = new NpgsqlConnection(database);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        await command.ExecuteNonQueryAsync();
    }

    private static async Task<T> ScalarAsync<T>(string database, string sql)
    {
        await using var connection = new NpgsqlConnection(database);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        return (T)(await command.ExecuteScalarAsync())!;
    }
}
